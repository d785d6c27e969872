using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .micro) ],
  sockets = [ (name = "http", address = "127.0.0.1:18913", http = (), service = "main") ],
);
const micro :Workerd.Worker = (
  modules = [ (name = "request-context-micro.js", esModule = embed "../../../.bench/request-context-micro.js") ],
  compatibilityDate = "2025-06-01",
  compatibilityFlags = ["enable_request_signal"],
  bindings = [ (name = "GATEWAY_CONFIG", text = embed "bench-config.json") ],
);
