using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .micro) ],
  sockets = [ (name = "http", address = "127.0.0.1:18914", http = (), service = "main") ],
);
const micro :Workerd.Worker = (
  modules = [ (name = "layers-micro.js", esModule = embed "../../../.bench/layers-micro.js") ],
  compatibilityDate = "2025-06-01",
);
