{
  "targets": [
    {
      "target_name": "rk_native",
      "sources": [
        "src/addon.cc",
        "src/errors.cc",
        "src/plan.cc",
        "src/spawn.cc",
        "src/exec.cc",
        "src/fsops.cc",
        "src/run.cc",
        "src/watch.cc",
        "src/sock.cc",
        "src/netlink.cc",
        "src/nsexec.cc",
        "src/frames.cc"
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall"]
    }
  ]
}
