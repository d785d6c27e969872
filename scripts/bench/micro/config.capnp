using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .micro) ],
  sockets = [ (name = "http", address = "127.0.0.1:18912", http = (), service = "main") ],
);
const micro :Workerd.Worker = (
  modules = [ (name = "request-path-micro.js", esModule = embed "request-path-micro.js") ],
  compatibilityDate = "2025-06-01",
  compatibilityFlags = ["enable_request_signal"],
);
