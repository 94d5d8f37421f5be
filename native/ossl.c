/*
 * The software crypto driver kernel TLS seals records with, as FreeBSD's ossl(4) serves the OCF
 * sessions of ktls_ocf.c: one OpenSSL AEAD context per TLS session, keyed once, given a new nonce
 * per record, encrypting from the record's source pages straight into its destination pages.
 * It links against the OpenSSL that Node itself carries (libcrypto's symbols are Node's).
 */
#include <node_api.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define TAG_LEN 16
#define NONCE_LEN 12
#define MAX_VIEWS 64

static void throw_ossl(napi_env env, const char *what) {
  napi_throw_error(env, "EIO", what);
}

static void ctx_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  EVP_CIPHER_CTX_free((EVP_CIPHER_CTX *)data);
}

static const EVP_CIPHER *cipher_by_name(const char *name) {
  if (strcmp(name, "aes-128-gcm") == 0) return EVP_aes_128_gcm();
  if (strcmp(name, "aes-256-gcm") == 0) return EVP_aes_256_gcm();
  if (strcmp(name, "chacha20-poly1305") == 0) return EVP_chacha20_poly1305();
  return NULL;
}

static int bytes_of(napi_env env, napi_value v, unsigned char **data, size_t *len) {
  napi_typedarray_type type;
  size_t length;
  void *p;
  if (napi_get_typedarray_info(env, v, &type, &length, &p, NULL, NULL) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  *data = (unsigned char *)p;
  *len = length;
  return 1;
}

/* newSession(cipherName, key): an AEAD context keyed once, freed with its JS handle. */
static napi_value new_session(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char name[32];
  size_t name_len;
  unsigned char *key;
  size_t key_len;
  napi_value handle;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 2 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &name_len) != napi_ok ||
      !bytes_of(env, argv[1], &key, &key_len)) {
    napi_throw_type_error(env, "EINVAL", "newSession(cipherName, key)");
    return NULL;
  }
  const EVP_CIPHER *cipher = cipher_by_name(name);
  if (cipher == NULL || (size_t)EVP_CIPHER_key_length(cipher) != key_len) {
    napi_throw_error(env, "EINVAL", "newSession: no such cipher for this key length");
    return NULL;
  }
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  if (ctx == NULL || EVP_EncryptInit_ex(ctx, cipher, NULL, NULL, NULL) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
      EVP_EncryptInit_ex(ctx, NULL, NULL, key, NULL) != 1) {
    EVP_CIPHER_CTX_free(ctx);
    throw_ossl(env, "newSession: EVP_EncryptInit_ex failed");
    return NULL;
  }
  if (napi_create_external(env, ctx, ctx_free, NULL, &handle) != napi_ok) {
    EVP_CIPHER_CTX_free(ctx);
    return NULL;
  }
  return handle;
}

/* The Uint8Arrays of a JS array, at most MAX_VIEWS of them. */
static int views_of(napi_env env, napi_value arr, unsigned char **data, size_t *len, uint32_t *n) {
  if (napi_get_array_length(env, arr, n) != napi_ok || *n > MAX_VIEWS) return 0;
  for (uint32_t i = 0; i < *n; i++) {
    napi_value v;
    if (napi_get_element(env, arr, i, &v) != napi_ok || !bytes_of(env, v, &data[i], &len[i])) return 0;
  }
  return 1;
}

/*
 * seal(session, nonce, aad, src[], dst[], innerType, trail): one record's AEAD. The payload in the
 * src views is encrypted into the dst views (the same total length, cut alike or not; the same
 * memory is allowed), then the inner content type into trail[0] and the tag after it. Returns the
 * payload bytes.
 */
static napi_value seal(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  EVP_CIPHER_CTX *ctx;
  unsigned char *nonce, *aad, *trail;
  size_t nonce_len, aad_len, trail_len;
  unsigned char *src[MAX_VIEWS], *dst[MAX_VIEWS];
  size_t src_len[MAX_VIEWS], dst_len[MAX_VIEWS];
  uint32_t nsrc, ndst, inner;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 7 || napi_get_value_external(env, argv[0], (void **)&ctx) != napi_ok ||
      !bytes_of(env, argv[1], &nonce, &nonce_len) || nonce_len != NONCE_LEN ||
      !bytes_of(env, argv[2], &aad, &aad_len) || !views_of(env, argv[3], src, src_len, &nsrc) ||
      !views_of(env, argv[4], dst, dst_len, &ndst) ||
      napi_get_value_uint32(env, argv[5], &inner) != napi_ok ||
      !bytes_of(env, argv[6], &trail, &trail_len) || trail_len < 1 + TAG_LEN) {
    napi_throw_type_error(env, "EINVAL", "seal(session, nonce, aad, src[], dst[], innerType, trail)");
    return NULL;
  }
  int outl;
  if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1 ||
      (aad_len > 0 && EVP_EncryptUpdate(ctx, NULL, &outl, aad, (int)aad_len) != 1)) {
    throw_ossl(env, "seal: EVP_EncryptInit_ex failed");
    return NULL;
  }
  size_t total = 0, s_off = 0, d_off = 0;
  uint32_t s = 0, d = 0;
  for (;;) {
    while (s < nsrc && s_off == src_len[s]) s++, s_off = 0;
    while (d < ndst && d_off == dst_len[d]) d++, d_off = 0;
    if (s == nsrc || d == ndst) break;
    size_t n = src_len[s] - s_off;
    if (dst_len[d] - d_off < n) n = dst_len[d] - d_off;
    if (n > 0x40000000 || EVP_EncryptUpdate(ctx, dst[d] + d_off, &outl, src[s] + s_off, (int)n) != 1 ||
        (size_t)outl != n) {
      throw_ossl(env, "seal: EVP_EncryptUpdate failed");
      return NULL;
    }
    s_off += n;
    d_off += n;
    total += n;
  }
  if (s != nsrc || d != ndst) {
    napi_throw_range_error(env, "EINVAL", "seal: source and destination lengths differ");
    return NULL;
  }
  unsigned char type = (unsigned char)inner;
  if (EVP_EncryptUpdate(ctx, trail, &outl, &type, 1) != 1 || outl != 1 ||
      EVP_EncryptFinal_ex(ctx, trail + 1, &outl) != 1 || outl != 0 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, trail + 1) != 1) {
    throw_ossl(env, "seal: EVP_EncryptFinal_ex failed");
    return NULL;
  }
  napi_value result;
  napi_create_double(env, (double)total, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "newSession", NAPI_AUTO_LENGTH, new_session, NULL, &fn);
  napi_set_named_property(env, exports, "newSession", fn);
  napi_create_function(env, "seal", NAPI_AUTO_LENGTH, seal, NULL, &fn);
  napi_set_named_property(env, exports, "seal", fn);
  return exports;
}
