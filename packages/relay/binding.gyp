{
  "targets": [
    {
      "target_name": "relay",
      "sources": ["src/relay.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
