{
  "targets": [
    {
      "target_name": "allocator",
      "sources": ["src/allocator.c"]
    }
  ]
}
