{
  "variables": {
    "rdkafka_deps": "<!(node -p \"require('path').join(require('path').dirname(require.resolve('@confluentinc/kafka-javascript/package.json')), 'build/deps')\")"
  },
  "targets": [
    {
      "target_name": "batch_produce",
      "sources": ["native/batch-produce.cc"],
      "include_dirs": ["<(rdkafka_deps)/include"],
      "libraries": ["-L<(rdkafka_deps)", "-l:librdkafka.so.1", "-Wl,-rpath,<(rdkafka_deps)"],
      "cflags_cc": ["-O2", "-std=c++20", "-Wno-cast-function-type", "-Wno-ignored-qualifiers"]
    }
  ]
}
