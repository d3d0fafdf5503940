# The gkm native addon: the ESP fast path (headers, SA lookup, replay, AEAD), ESP bursts, and the IKE SA crypto (X25519/X448, HMAC/prf+: src/ike_crypto.cc; SK payload AEADs: src/ike_aead.cc; AES key wrap: src/ike_keywrap.cc), malloc_trim (src/memory.cc), through OpenSSL EVP (the copy inside Node, whose symbols
# the node binary exports) and a NETLINK_XFRM request helper. Built offline against Node's own
# headers by scripts/build-native.mjs.
{
  "targets": [
    {
      "target_name": "gkm_native",
      "sources": ["src/addon.cc", "src/addon_datapath.cc", "src/datapath.cc", "src/esp.cc", "src/gcm_fast.cc", "src/ip.cc", "src/replay.cc", "src/netlink.cc", "src/ike_crypto.cc", "src/ike_aead.cc", "src/ike_keywrap.cc", "src/memory.cc"],
      "defines": ["NAPI_VERSION=8", "OPENSSL_API_COMPAT=30000", "OPENSSL_NO_DEPRECATED"],
      "cflags_cc": ["-Wall", "-Wextra", "-Wconversion", "-Wno-sign-conversion", "-fstack-protector-strong"],
      "ldflags": ["-Wl,-z,relro,-z,now"]
    }
  ]
}
