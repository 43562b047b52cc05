{
  "targets": [
    {
      "target_name": "mmaplab",
      "sources": [
        "native/addon.cc",
        "native/async.cc",
        "native/child.cc",
        "native/constants.cc",
        "native/errors.cc",
        "native/fd.cc",
        "native/mapping.cc",
        "native/sched.cc",
        "native/support.c",
        "native/uses.cc",
        "native/uses-ring.cc",
        "native/walk.cc"
      ],
      "include_dirs": [
        # First on the path, so <linux/mmaplab.h> is the project's uapi header
        # (the one source of truth), never a copy installed under /usr/include.
        "kmod/include/uapi",
        # kmod/mmaplab_support.h (compiled by native/support.c) includes the
        # uapi header as the module's sources do: <uapi/linux/mmaplab.h>.
        "kmod/include"
      ],
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "_FILE_OFFSET_BITS=64"
      ],
      "cflags_c": [
        "-std=gnu11",
        "-Wall",
        "-Wextra"
      ],
      "cflags_cc": [
        "-std=gnu++17",
        "-Wall",
        "-Wextra",
        "-Wno-missing-field-initializers"
      ]
    }
  ]
}
