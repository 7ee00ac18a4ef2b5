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
        "src/loopback_tcp.cc",
        "src/netlink.cc",
        "src/nsexec.cc",
        "src/slirp_csum.cc",
        "src/slirp_frame.cc",
        "src/slirp_engine.cc",
        "src/slirp_loop.cc",
        "src/slirp_js.cc",
        "src/fsat.cc",
        "src/frames.cc",
        "src/relay_addr.cc",
        "src/relay_pool.cc",
        "src/relay_engine.cc",
        "src/relay_tcp.cc",
        "src/relay_udp.cc",
        "src/relay_udp_send.cc",
        "src/relay_js.cc"
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "<!@(pkg-config --cflags slirp 2>/dev/null || echo -I/usr/include/slirp)"],
      "libraries": ["<!@(pkg-config --libs slirp 2>/dev/null || echo -lslirp)"]
    }
  ]
}
