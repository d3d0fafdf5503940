// N-API entry points of the IKE SA crypto (ike_crypto.cc): X25519/X448 (RFC 7748) and HMAC /
// prf+ (RFC 7296 §2.13), the SK payload AEADs (ike_aead.cc) and AES key wrap (ike_keywrap.cc). The JS side is src/ikev2/crypto/native.ts; addon.cc registers them.
#pragma once

#include <node_api.h>

namespace gkm {
bool RegisterIkeCrypto(napi_env env, napi_value exports);
// ike_aead.cc: aeadSeal / aeadOpen (SK payload AEADs, RFC 5282 / RFC 7634).
bool RegisterIkeAead(napi_env env, napi_value exports);
// ike_keywrap.cc: AES key wrap (RFC 3394 / RFC 5649) for the GCKS's key downloads.
bool RegisterIkeKeyWrap(napi_env env, napi_value exports);
}  // namespace gkm
