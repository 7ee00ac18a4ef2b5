{
  "targets": [
    {
      "target_name": "rk_native",
      "sources": [
        "src/common/addon.cc",
        "src/common/errors.cc",
        "src/common/loopback_tcp.cc",
        "src/process/exec.cc",
        "src/process/nsexec.cc",
        "src/process/run.cc",
        "src/process/spawn.cc",
        "src/process/watch.cc",
        "src/mount/fsops.cc",
        "src/mount/plan.cc",
        "src/files/fsat.cc",
        "src/files/sock.cc",
        "src/netlink/netlink.cc",
        "src/frames/frames.cc",
        "src/nat/engine_js.cc",
        "src/nat/frame_filter.cc",
        "src/nat/frame_filter_js.cc",
        "src/nat/ip_reass.cc",
        "src/nat/recent_sources.cc",
        "src/nat/slirp_csum.cc",
        "src/relay/relay_addr.cc",
        "src/relay/relay_engine.cc",
        "src/relay/relay_js.cc",
        "src/relay/relay_pool.cc",
        "src/relay/relay_proxy.cc",
        "src/relay/relay_route.cc",
        "src/relay/relay_tcp.cc",
        "src/relay/relay_udp.cc",
        "src/relay/relay_udp_send.cc",
        "src/relay/relay_unix.cc",
        "src/bypass/bypass_install.cc",
        "src/bypass/bypass_js.cc",
        "src/bypass/bypass_policy.cc",
        "src/bypass/bypass_sockopt.cc",
        "src/bypass/bypass_supervisor.cc"
      ],
      "include_dirs": ["src"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "<!@(pkg-config --cflags slirp 2>/dev/null || echo -I/usr/include/slirp)"],
      "libraries": ["<!@(pkg-config --libs slirp 2>/dev/null || echo -lslirp)"]
    },
    {
      "target_name": "rk-nat-engine",
      "type": "executable",
      "sources": [
        "src/nat/engine_main.cc",
        "src/nat/sandbox.cc",
        "src/nat/seccomp_filter.cc",
        "src/nat/slirp_engine.cc",
        "src/nat/slirp_loop.cc",
        "src/nat/slirp_frame.cc",
        "src/nat/udp_fast.cc",
        "src/nat/slirp_csum.cc",
        "src/nat/frame_filter.cc",
        "src/nat/ip_reass.cc",
        "src/nat/recent_sources.cc",
        "src/common/loopback_tcp.cc"
      ],
      "include_dirs": ["src"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "<!@(pkg-config --cflags slirp 2>/dev/null || echo -I/usr/include/slirp)"],
      "libraries": ["<!@(pkg-config --libs slirp 2>/dev/null || echo -lslirp)"]
    }
  ]
}
