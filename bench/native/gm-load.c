/*
 * gm-load: the GCKS registration benchmark's load generator in C (bench/gcks-registration.bench.ts,
 * GCKS_BENCH_GENERATOR=native). It runs the same GSA_AUTH registrations as bench/lib/lean-gm.ts,
 * with OpenSSL's libcrypto, so that the generator takes less of the two cores the GCKS under
 * test shares with it (docs/decisions.md, "The registration benchmark's native load generator"):
 *
 *   HDR, SAi1, KEi, Ni, N(NAT_D_SRC), N(NAT_D_DST), N(...)  -->   (the bench's encoded template)
 *                                            <--  HDR, SAr1, KEr, Nr, [N(...)]
 *   HDR, SK{IDi, AUTH, IDg}  -->   (RFC 9838 §2.3.1; PSK AUTH of RFC 7296 §2.15)
 *                                            <--  HDR, SK{IDr, AUTH, GSA, KD}
 *   HDR, SK{D}  -->                (the GM has its keys: the IKE SA goes; the reply is not read)
 *
 * Each registration: a fresh SPI, nonce and X25519 key pair (made before the timed phase with
 * --keys-ahead 1, as a GM fleet makes them on its own CPUs), the chosen proposal checked against
 * the one offered, SKEYSEED and SK_* derived (RFC 7296 §2.13-2.14), AES-256-GCM SK payloads
 * (RFC 5282), and the GCKS's AUTH verified before GSA and KD count. Suite fixed to what the bench
 * offers: ENCR_AES_GCM_16/256, PRF_HMAC_SHA2_256, Curve25519 (31), and the KWA transform.
 *
 * Not done, as in lean-gm.ts: NAT-D checks of the response, COOKIE / INVALID_KE retries,
 * unwrapping the downloaded keys (the tests do that). Requests are retransmitted (2 s, x1.5, 5 tries).
 *
 * Usage: gm-load --port P --template HEX --group HEX --first I --end E --concurrency C
 *                --id-format FMT --psk-format FMT [--marked 0|1] [--keys-ahead 0|1] [--latencies FILE]
 * Prints "ready" once its key pairs are made, starts on a line from stdin, and at the end prints
 * one JSON line: {"ok":..,"failed":..,"seconds":..,"cpuUs":..,"keysSeconds":..} (CPU and seconds
 * of the timed phase only); with --latencies, each registration's latency in ms as float64.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* --- code points (RFC 7296 §3, RFC 9838 §4, IANA) ------------------------------------------ */
enum { EXCH_IKE_SA_INIT = 34, EXCH_INFORMATIONAL = 37, EXCH_GSA_AUTH = 39 };
enum { PL_NONE = 0, PL_SA = 33, PL_KE = 34, PL_IDI = 35, PL_IDR = 36, PL_AUTH = 39, PL_NONCE = 40, PL_NOTIFY = 41, PL_DELETE = 42, PL_SK = 46, PL_IDG = 50, PL_GSA = 51, PL_KD = 52 };
enum { FLAG_INITIATOR = 0x08, FLAG_RESPONSE = 0x20 };
enum { N_NAT_D_SRC = 16388, N_NAT_D_DST = 16389, N_FIRST_STATUS = 16384 };
enum { T_ENCR = 1, T_PRF = 2, T_INTEG = 3, T_KE = 4, T_KWA = 13 };
enum { ENCR_AES_GCM_16 = 20, PRF_HMAC_SHA2_256 = 5, KE_CURVE25519 = 31, ATTR_KEY_LENGTH = 14 };
enum { ID_KEY_ID = 11, AUTH_PSK = 2, PROTO_IKE = 1 };

#define HDR_LEN 28
#define NONCE_LEN 32
#define X25519_LEN 32
#define PRF_LEN 32
#define GCM_KEY 32
#define GCM_SALT 4
#define GCM_IV 8
#define GCM_ICV 16
#define MAX_MSG 4096
#define BATCH 64
#define MARKER_LEN 4

/* --- small helpers --------------------------------------------------------------------------- */
static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}
static void die(const char *what) {
  fprintf(stderr, "gm-load: %s\n", what);
  exit(2);
}
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static void put16(uint8_t *p, unsigned v) { p[0] = v >> 8; p[1] = v; }
static void put32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }
static int unhex(const char *s, uint8_t *out, size_t max) {
  size_t n = strlen(s);
  if (n % 2 || n / 2 > max) return -1;
  for (size_t i = 0; i < n / 2; i++) {
    unsigned v;
    if (sscanf(s + 2 * i, "%2x", &v) != 1) return -1;
    out[i] = (uint8_t)v;
  }
  return (int)(n / 2);
}

/* --- HMAC-SHA-256 on keyed digest states (RFC 2104), prf+ (RFC 7296 §2.13) ------------------ */
static EVP_MD *SHA256_MD, *SHA1_MD;
typedef struct { EVP_MD_CTX *inner, *outer; } Hmac;
static EVP_MD_CTX *SCRATCH;

static void hmac_key(Hmac *h, const uint8_t *key, size_t len) {
  uint8_t k[64] = {0}, pad[64];
  if (len > 64) {
    unsigned n;
    EVP_Digest(key, len, k, &n, SHA256_MD, NULL);
  } else memcpy(k, key, len);
  for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x36;
  EVP_DigestInit_ex2(h->inner, SHA256_MD, NULL);
  EVP_DigestUpdate(h->inner, pad, 64);
  for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x5c;
  EVP_DigestInit_ex2(h->outer, SHA256_MD, NULL);
  EVP_DigestUpdate(h->outer, pad, 64);
  OPENSSL_cleanse(k, sizeof k);
  OPENSSL_cleanse(pad, sizeof pad);
}
/* out = HMAC(key of h, a | b | c); any part may be empty. */
static void hmac3(const Hmac *h, const uint8_t *a, size_t an, const uint8_t *b, size_t bn, const uint8_t *c, size_t cn, uint8_t out[PRF_LEN]) {
  uint8_t inner[PRF_LEN];
  EVP_MD_CTX_copy_ex(SCRATCH, h->inner);
  if (an) EVP_DigestUpdate(SCRATCH, a, an);
  if (bn) EVP_DigestUpdate(SCRATCH, b, bn);
  if (cn) EVP_DigestUpdate(SCRATCH, c, cn);
  EVP_DigestFinal_ex(SCRATCH, inner, NULL);
  EVP_MD_CTX_copy_ex(SCRATCH, h->outer);
  EVP_DigestUpdate(SCRATCH, inner, PRF_LEN);
  EVP_DigestFinal_ex(SCRATCH, out, NULL);
}
static Hmac HM; /* one keyed state, re-keyed per use (single-threaded) */
static void prf(const uint8_t *key, size_t kn, const uint8_t *a, size_t an, const uint8_t *b, size_t bn, const uint8_t *c, size_t cn, uint8_t out[PRF_LEN]) {
  hmac_key(&HM, key, kn);
  hmac3(&HM, a, an, b, bn, c, cn, out);
}

/* --- AES-256-GCM SK payloads (RFC 5282): nonce = salt | IV, AAD = header .. SK generic header - */
static EVP_CIPHER *GCM;
static EVP_CIPHER_CTX *CIPHER;

static int gcm(int enc, const uint8_t key[GCM_KEY + GCM_SALT], const uint8_t iv[GCM_IV], const uint8_t *aad, size_t aadn, uint8_t *data, size_t n, uint8_t tag[GCM_ICV]) {
  uint8_t nonce[12];
  int len;
  memcpy(nonce, key + GCM_KEY, GCM_SALT);
  memcpy(nonce + GCM_SALT, iv, GCM_IV);
  if (!EVP_CipherInit_ex2(CIPHER, GCM, key, nonce, enc, NULL)) return 0;
  if (!EVP_CipherUpdate(CIPHER, NULL, &len, aad, (int)aadn)) return 0;
  if (!EVP_CipherUpdate(CIPHER, data, &len, data, (int)n)) return 0;
  if (enc) return EVP_CipherFinal_ex(CIPHER, data + len, &len) && EVP_CIPHER_CTX_ctrl(CIPHER, EVP_CTRL_GCM_GET_TAG, GCM_ICV, tag);
  return EVP_CIPHER_CTX_ctrl(CIPHER, EVP_CTRL_GCM_SET_TAG, GCM_ICV, tag) && EVP_CipherFinal_ex(CIPHER, data + len, &len) > 0;
}

/* --- options --------------------------------------------------------------------------------- */
static struct {
  int port, concurrency, marked, keys_ahead;
  long first, end;
  uint8_t tmpl[MAX_MSG];
  int tmpl_len;
  uint8_t group[256];
  int group_len;
  const char *id_fmt, *psk_fmt, *latencies;
} O = {.concurrency = 128, .keys_ahead = 1};

static void options(int argc, char **argv) {
  if ((argc - 1) % 2) die("options come in pairs: --name value");
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (!strcmp(k, "--port")) O.port = atoi(v);
    else if (!strcmp(k, "--concurrency")) O.concurrency = atoi(v);
    else if (!strcmp(k, "--marked")) O.marked = atoi(v);
    else if (!strcmp(k, "--keys-ahead")) O.keys_ahead = atoi(v);
    else if (!strcmp(k, "--first")) O.first = atol(v);
    else if (!strcmp(k, "--end")) O.end = atol(v);
    else if (!strcmp(k, "--template")) O.tmpl_len = unhex(v, O.tmpl, sizeof O.tmpl);
    else if (!strcmp(k, "--group")) O.group_len = unhex(v, O.group, sizeof O.group);
    else if (!strcmp(k, "--id-format")) O.id_fmt = v;
    else if (!strcmp(k, "--psk-format")) O.psk_fmt = v;
    else if (!strcmp(k, "--latencies")) O.latencies = v;
    else die("unknown option");
  }
  if (O.port <= 0 || O.port > 65535 || O.tmpl_len < HDR_LEN || O.group_len <= 0 || !O.id_fmt || !O.psk_fmt || O.end < O.first || O.concurrency < 1 || O.concurrency > 0xffff) die("bad or missing options (see the header comment)");
}

/* --- the IKE_SA_INIT template: where its SPI, KE data, nonce and NAT-D hashes go ------------- */
static int off_ke = -1, off_nonce = -1, off_natd_src = -1, off_natd_dst = -1;

static void scan_template(void) {
  if (O.tmpl[18] != EXCH_IKE_SA_INIT || get32(O.tmpl + 24) != (uint32_t)O.tmpl_len) die("template: not an IKE_SA_INIT message of its own length");
  int next = O.tmpl[16], at = HDR_LEN;
  while (next != PL_NONE) {
    if (at + 4 > O.tmpl_len) die("template: truncated payload");
    int len = get16(O.tmpl + at + 2);
    if (len < 4 || at + len > O.tmpl_len) die("template: bad payload length");
    if (next == PL_KE && len == 8 + X25519_LEN && get16(O.tmpl + at + 4) == KE_CURVE25519) off_ke = at + 8;
    if (next == PL_NONCE && len == 4 + NONCE_LEN) off_nonce = at + 4;
    if (next == PL_NOTIFY && len == 8 + 20) {
      int type = get16(O.tmpl + at + 6);
      if (type == N_NAT_D_SRC) off_natd_src = at + 8;
      if (type == N_NAT_D_DST) off_natd_dst = at + 8;
    }
    next = O.tmpl[at];
    at += len;
  }
  if (at != O.tmpl_len || off_ke < 0 || off_nonce < 0 || off_natd_src < 0 || off_natd_dst < 0) die("template: needs KE (Curve25519), a 32-octet nonce and both NAT-D notifies");
}

/* The offered proposal's transforms, from the template's SA payload (to check the chosen one). */
typedef struct { int type, id, keylen; } Transform;
static Transform OFFER[16];
static int OFFER_N;

/* Transforms of the first proposal of an SA payload body; -1 if malformed. */
static int proposal_transforms(const uint8_t *sa, int n, Transform *out, int max) {
  if (n < 8) return -1;
  int plen = get16(sa + 2), spi = sa[6], count = sa[7], at = 8 + spi, k = 0;
  if (plen > n || at > plen) return -1;
  while (k < count && at + 8 <= plen && k < max) {
    int tlen = get16(sa + at + 2);
    if (tlen < 8 || at + tlen > plen) return -1;
    out[k] = (Transform){sa[at + 4], get16(sa + at + 6), 0};
    for (int a = at + 8; a + 4 <= at + tlen;) { /* attributes: only TV Key Length expected */
      int type = get16(sa + a);
      if (type == (0x8000 | ATTR_KEY_LENGTH)) out[k].keylen = get16(sa + a + 2), a += 4;
      else if (type & 0x8000) a += 4;
      else a += 4 + get16(sa + a + 2);
    }
    k++, at += tlen;
  }
  return k == count ? k : -1;
}

static void offered_proposal(void) {
  int next = O.tmpl[16], at = HDR_LEN;
  while (next != PL_SA) next = O.tmpl[at], at += get16(O.tmpl + at + 2);
  OFFER_N = proposal_transforms(O.tmpl + at + 4, get16(O.tmpl + at + 2) - 4, OFFER, 16);
  int have_encr = 0, have_prf = 0, have_ke = 0;
  for (int i = 0; i < OFFER_N; i++) {
    have_encr |= OFFER[i].type == T_ENCR && OFFER[i].id == ENCR_AES_GCM_16 && OFFER[i].keylen == 256;
    have_prf |= OFFER[i].type == T_PRF && OFFER[i].id == PRF_HMAC_SHA2_256;
    have_ke |= OFFER[i].type == T_KE && OFFER[i].id == KE_CURVE25519;
  }
  if (OFFER_N <= 0 || !have_encr || !have_prf || !have_ke) die("template: the SA must offer one proposal of AES-GCM-16/256, HMAC-SHA2-256, Curve25519");
}

/* --- registrations -------------------------------------------------------------------------- */
enum { IDLE, INIT_SENT, AUTH_SENT };
typedef struct {
  int state, tries;
  long member;
  double started, deadline;
  uint8_t spi_i[8], spi_r[8], ni[NONCE_LEN], nr[NONCE_LEN];
  EVP_PKEY *key;
  uint8_t init_req[MAX_MSG], init_res[MAX_MSG]; /* RealMessage1 and 2 (RFC 7296 §2.15) */
  int init_req_len, init_res_len;
  uint8_t sk_ei[GCM_KEY + GCM_SALT], sk_er[GCM_KEY + GCM_SALT], sk_pi[PRF_LEN], sk_pr[PRF_LEN];
  uint8_t out[MAX_MSG]; /* the outstanding request (for retransmission), with the marker */
  int out_len;
} Reg;

static Reg *REGS;
static int SOCK;
static struct sockaddr_in LOCAL, REMOTE;
static EVP_PKEY **KEYS; /* --keys-ahead: one per member, index member - first */
static double *LAT;
static long OK_N, FAILED_N, NEXT;
static int REPORTED;

/* Datagrams to send after the current receive batch (sendmmsg). */
static struct mmsghdr OUTQ[BATCH * 2];
static struct iovec OUTV[BATCH * 2];
static int OUTQ_N;
static void flush(void) {
  int done = 0;
  while (done < OUTQ_N) {
    int r = sendmmsg(SOCK, OUTQ + done, OUTQ_N - done, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == ENOBUFS) break; /* lost: the retransmit timer resends */
      die("sendmmsg failed");
    }
    done += r;
  }
  OUTQ_N = 0;
}
static void queue(const uint8_t *p, int n) {
  if (OUTQ_N == BATCH * 2) flush();
  OUTV[OUTQ_N] = (struct iovec){(void *)p, (size_t)n};
  OUTQ[OUTQ_N].msg_hdr = (struct msghdr){.msg_iov = &OUTV[OUTQ_N], .msg_iovlen = 1};
  OUTQ_N++;
}
/* Scratch for messages not retransmitted (the Delete): one per slot would do, a ring is enough. */
static uint8_t DELETES[BATCH * 2][256];
static int DELETE_AT;

static void fail(Reg *r, const char *why) {
  if (REPORTED++ < 5) fprintf(stderr, "gm-load: member %ld: %s\n", r->member, why);
  if (r->key) EVP_PKEY_free(r->key), r->key = NULL;
  FAILED_N++;
  r->state = IDLE;
}

static void member_strings(long i, char *id, size_t idn, char *psk, size_t pskn) {
  snprintf(id, idn, O.id_fmt, i);
  snprintf(psk, pskn, O.psk_fmt, i);
}

static EVP_PKEY *fresh_key(void) {
  EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
  if (!k) die("X25519 key generation failed");
  return k;
}

static void natd(const uint8_t spi_i[8], const struct sockaddr_in *a, uint8_t out[20]) {
  uint8_t in[8 + 8 + 4 + 2] = {0};
  memcpy(in, spi_i, 8); /* SPIr is zero in the first request */
  memcpy(in + 16, &a->sin_addr, 4);
  memcpy(in + 20, &a->sin_port, 2);
  EVP_Digest(in, sizeof in, out, NULL, SHA1_MD, NULL);
}

static void start(Reg *r, int slot) {
  long m = NEXT++;
  r->member = m;
  r->state = INIT_SENT;
  r->tries = 0;
  r->started = now_ms();
  r->key = O.keys_ahead ? KEYS[m - O.first] : fresh_key();
  if (O.keys_ahead) KEYS[m - O.first] = NULL;
  RAND_bytes(r->spi_i, 6); /* the low 16 bits name the slot */
  put16(r->spi_i + 6, (unsigned)slot);
  RAND_bytes(r->ni, NONCE_LEN);
  uint8_t *msg = r->out + (O.marked ? MARKER_LEN : 0);
  memset(r->out, 0, MARKER_LEN);
  memcpy(msg, O.tmpl, O.tmpl_len);
  memcpy(msg, r->spi_i, 8);
  size_t publen = X25519_LEN;
  EVP_PKEY_get_raw_public_key(r->key, msg + off_ke, &publen);
  memcpy(msg + off_nonce, r->ni, NONCE_LEN);
  natd(r->spi_i, &LOCAL, msg + off_natd_src);
  natd(r->spi_i, &REMOTE, msg + off_natd_dst);
  memcpy(r->init_req, msg, O.tmpl_len);
  r->init_req_len = O.tmpl_len;
  r->out_len = O.tmpl_len + (O.marked ? MARKER_LEN : 0);
  r->deadline = r->started + 2000;
  queue(r->out, r->out_len);
}

/* HDR, SK{inner}: writes the message after the marker in `buf`, returns its whole length with the marker. */
static int protect(Reg *r, uint8_t *buf, int exch, uint32_t msgid, int first_inner, const uint8_t *inner, int inner_len) {
  int mk = O.marked ? MARKER_LEN : 0;
  uint8_t *m = buf + mk;
  int sk_len = 4 + GCM_IV + inner_len + 1 + GCM_ICV, total = HDR_LEN + sk_len;
  if (mk + total > MAX_MSG) die("message too long");
  memset(buf, 0, mk);
  memcpy(m, r->spi_i, 8);
  memcpy(m + 8, r->spi_r, 8);
  m[16] = PL_SK, m[17] = 0x20, m[18] = (uint8_t)exch, m[19] = FLAG_INITIATOR;
  put32(m + 20, msgid);
  put32(m + 24, (uint32_t)total);
  m[28] = (uint8_t)first_inner, m[29] = 0;
  put16(m + 30, (unsigned)sk_len);
  uint8_t *iv = m + 32, *ct = iv + GCM_IV;
  memset(iv, 0, 4); /* IV: the Message ID, unique under this SA's key */
  put32(iv + 4, msgid);
  memcpy(ct, inner, inner_len);
  ct[inner_len] = 0; /* Pad Length (no padding: GCM's block size is 1) */
  if (!gcm(1, r->sk_ei, iv, m, HDR_LEN + 4, ct, inner_len + 1, ct + inner_len + 1)) die("AES-GCM seal failed");
  return mk + total;
}

static const uint8_t KEY_PAD[] = "Key Pad for IKEv2";

/* AUTH = prf(prf(PSK, "Key Pad for IKEv2"), RealMessage | Nonce | prf(SK_p, RestOfID)) */
static void psk_auth(const char *psk, const uint8_t *real, int real_len, const uint8_t *nonce, const uint8_t *skp, const uint8_t *id_body, int id_len, uint8_t out[PRF_LEN]) {
  uint8_t padded[PRF_LEN], mac_id[PRF_LEN];
  prf((const uint8_t *)psk, strlen(psk), KEY_PAD, sizeof KEY_PAD - 1, NULL, 0, NULL, 0, padded);
  prf(skp, PRF_LEN, id_body, (size_t)id_len, NULL, 0, NULL, 0, mac_id);
  prf(padded, PRF_LEN, real, (size_t)real_len, nonce, NONCE_LEN, mac_id, PRF_LEN, out);
  OPENSSL_cleanse(padded, sizeof padded);
}

static int chosen_matches_offer(const uint8_t *sa_body, int n) {
  Transform got[16];
  int k = proposal_transforms(sa_body, n, got, 16);
  if (k <= 0) return 0;
  for (int i = 0; i < k; i++) {
    int found = 0;
    for (int j = 0; j < OFFER_N; j++) found |= got[i].type == OFFER[j].type && got[i].id == OFFER[j].id && got[i].keylen == OFFER[j].keylen;
    if (!found) return 0;
  }
  return 1;
}

static void on_init_response(Reg *r, const uint8_t *m, int n) {
  const uint8_t *ke = NULL, *nonce = NULL, *sa = NULL;
  int sa_len = 0, next = m[16], at = HDR_LEN;
  while (next != PL_NONE) {
    if (at + 4 > n) return fail(r, "IKE_SA_INIT response: truncated payload");
    int len = get16(m + at + 2);
    if (len < 4 || at + len > n) return fail(r, "IKE_SA_INIT response: bad payload length");
    if (next == PL_SA) sa = m + at + 4, sa_len = len - 4;
    if (next == PL_KE && len == 8 + X25519_LEN && get16(m + at + 4) == KE_CURVE25519) ke = m + at + 8;
    if (next == PL_NONCE && len == 4 + NONCE_LEN) nonce = m + at + 4;
    if (next == PL_NOTIFY && len >= 8 && get16(m + at + 6) < N_FIRST_STATUS) return fail(r, "IKE_SA_INIT response: error notify");
    next = m[at];
    at += len;
  }
  if (at != n || !sa || !ke || !nonce) return fail(r, "IKE_SA_INIT response: SA, KE (Curve25519) or a 32-octet nonce missing");
  if (!chosen_matches_offer(sa, sa_len)) return fail(r, "IKE_SA_INIT response: chosen proposal not offered");
  memcpy(r->spi_r, m + 8, 8);
  memcpy(r->nr, nonce, NONCE_LEN);
  memcpy(r->init_res, m, n);
  r->init_res_len = n;

  /* g^ir (OpenSSL refuses an all-zero result), SKEYSEED = prf(Ni | Nr, g^ir) (RFC 7296 §2.14). */
  uint8_t shared[X25519_LEN], seed[PRF_LEN], keymat[7 * PRF_LEN], nn[2 * NONCE_LEN];
  size_t slen = sizeof shared;
  EVP_PKEY *peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, ke, X25519_LEN);
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(r->key, NULL);
  int ok = peer && ctx && EVP_PKEY_derive_init(ctx) > 0 && EVP_PKEY_derive_set_peer(ctx, peer) > 0 && EVP_PKEY_derive(ctx, shared, &slen) > 0;
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(peer);
  EVP_PKEY_free(r->key);
  r->key = NULL;
  if (!ok) return fail(r, "X25519 derivation failed");
  memcpy(nn, r->ni, NONCE_LEN);
  memcpy(nn + NONCE_LEN, r->nr, NONCE_LEN);
  prf(nn, sizeof nn, shared, sizeof shared, NULL, 0, NULL, 0, seed);
  /* prf+ (SKEYSEED, Ni | Nr | SPIi | SPIr): SK_d | SK_ei | SK_er | SK_pi | SK_pr (no SK_a: AEAD). */
  hmac_key(&HM, seed, PRF_LEN);
  uint8_t spis[16], prev[PRF_LEN];
  memcpy(spis, r->spi_i, 8);
  memcpy(spis + 8, r->spi_r, 8);
  for (int i = 0; i < 6; i++) {
    uint8_t block_in[PRF_LEN + 2 * NONCE_LEN + 16 + 1];
    int bn = 0;
    if (i) memcpy(block_in, prev, PRF_LEN), bn = PRF_LEN;
    memcpy(block_in + bn, nn, sizeof nn), bn += sizeof nn;
    memcpy(block_in + bn, spis, 16), bn += 16;
    block_in[bn++] = (uint8_t)(i + 1); /* the prf+ counter */
    hmac3(&HM, block_in, (size_t)bn, NULL, 0, NULL, 0, prev);
    memcpy(keymat + i * PRF_LEN, prev, PRF_LEN);
  }
  const uint8_t *k = keymat + PRF_LEN; /* after SK_d */
  memcpy(r->sk_ei, k, sizeof r->sk_ei), k += sizeof r->sk_ei;
  memcpy(r->sk_er, k, sizeof r->sk_er), k += sizeof r->sk_er;
  memcpy(r->sk_pi, k, PRF_LEN), k += PRF_LEN;
  memcpy(r->sk_pr, k, PRF_LEN);
  OPENSSL_cleanse(shared, sizeof shared);
  OPENSSL_cleanse(seed, sizeof seed);
  OPENSSL_cleanse(keymat, sizeof keymat);

  /* SK{IDi, AUTH, IDg} */
  char id[128], psk[256];
  member_strings(r->member, id, sizeof id, psk, sizeof psk);
  int idn = (int)strlen(id);
  uint8_t inner[1024], *p = inner;
  p[0] = PL_AUTH, p[1] = 0, put16(p + 2, 8 + idn), p[4] = ID_KEY_ID, memset(p + 5, 0, 3), memcpy(p + 8, id, idn);
  const uint8_t *idi_body = p + 4;
  p += 8 + idn;
  p[0] = PL_IDG, p[1] = 0, put16(p + 2, 8 + PRF_LEN), p[4] = AUTH_PSK, memset(p + 5, 0, 3);
  psk_auth(psk, r->init_req, r->init_req_len, r->nr, r->sk_pi, idi_body, 4 + idn, p + 8);
  p += 8 + PRF_LEN;
  p[0] = PL_NONE, p[1] = 0, put16(p + 2, 8 + O.group_len), p[4] = ID_KEY_ID, memset(p + 5, 0, 3), memcpy(p + 8, O.group, O.group_len);
  p += 8 + O.group_len;
  r->out_len = protect(r, r->out, EXCH_GSA_AUTH, 1, PL_IDI, inner, (int)(p - inner));
  r->state = AUTH_SENT;
  r->tries = 0;
  r->deadline = now_ms() + 2000;
  queue(r->out, r->out_len);
}

static void on_auth_response(Reg *r, uint8_t *m, int n) {
  if (m[16] != PL_SK || n < HDR_LEN + 4 + GCM_IV + GCM_ICV + 1) return fail(r, "GSA_AUTH response: no SK payload first");
  int sk_len = get16(m + 30);
  if (HDR_LEN + sk_len != n || sk_len < 4 + GCM_IV + GCM_ICV + 1) return fail(r, "GSA_AUTH response: bad SK length");
  uint8_t *iv = m + 32, *ct = iv + GCM_IV;
  int ct_len = sk_len - 4 - GCM_IV - GCM_ICV;
  if (!gcm(0, r->sk_er, iv, m, HDR_LEN + 4, ct, ct_len, ct + ct_len)) return fail(r, "GSA_AUTH response: ICV check failed");
  int pad = ct[ct_len - 1];
  if (pad + 1 > ct_len) return fail(r, "GSA_AUTH response: bad padding");
  int inner_len = ct_len - 1 - pad, next = m[28], at = 0, have_gsa = 0, have_kd = 0;
  const uint8_t *idr = NULL, *auth = NULL;
  int idr_len = 0;
  while (next != PL_NONE) {
    if (at + 4 > inner_len) return fail(r, "GSA_AUTH response: truncated inner payload");
    int len = get16(ct + at + 2);
    if (len < 4 || at + len > inner_len) return fail(r, "GSA_AUTH response: bad inner payload length");
    if (next == PL_IDR) idr = ct + at + 4, idr_len = len - 4;
    if (next == PL_AUTH && len == 8 + PRF_LEN && ct[at + 4] == AUTH_PSK) auth = ct + at + 8;
    if (next == PL_GSA) have_gsa = 1;
    if (next == PL_KD) have_kd = 1;
    if (next == PL_NOTIFY && len >= 8 && get16(ct + at + 6) < N_FIRST_STATUS) return fail(r, "GSA_AUTH response: error notify");
    next = ct[at];
    at += len;
  }
  if (at != inner_len || !idr || !auth || !have_gsa || !have_kd) return fail(r, "GSA_AUTH response: IDr, PSK AUTH, GSA or KD missing");
  char id[128], psk[256];
  uint8_t expected[PRF_LEN];
  member_strings(r->member, id, sizeof id, psk, sizeof psk);
  psk_auth(psk, r->init_res, r->init_res_len, r->ni, r->sk_pr, idr, idr_len, expected);
  if (CRYPTO_memcmp(expected, auth, PRF_LEN) != 0) return fail(r, "GSA_AUTH response: the GCKS's AUTH does not verify");
  LAT[OK_N++] = now_ms() - r->started;
  /* RFC 7296 §1.4.1: delete the IKE SA; its reply is not waited for. */
  static const uint8_t del[] = {PL_NONE, 0, 0, 8, PROTO_IKE, 0, 0, 0};
  uint8_t *buf = DELETES[DELETE_AT++ % (BATCH * 2)];
  queue(buf, protect(r, buf, EXCH_INFORMATIONAL, 2, PL_DELETE, del, sizeof del));
  r->state = IDLE;
}

static void receive(uint8_t *d, int n) {
  if (O.marked) {
    if (n < MARKER_LEN || get32(d) != 0) return;
    d += MARKER_LEN, n -= MARKER_LEN;
  }
  if (n < HDR_LEN || get32(d + 24) != (uint32_t)n || !(d[19] & FLAG_RESPONSE)) return;
  int slot = get16(d + 6);
  if (slot >= O.concurrency) return;
  Reg *r = &REGS[slot];
  if (memcmp(d, r->spi_i, 8) != 0) return; /* e.g. the reply to a Delete of an earlier registration */
  uint32_t msgid = get32(d + 20);
  if (r->state == INIT_SENT && msgid == 0 && d[18] == EXCH_IKE_SA_INIT) on_init_response(r, d, n);
  else if (r->state == AUTH_SENT && msgid == 1 && d[18] == EXCH_GSA_AUTH) on_auth_response(r, d, n);
}

static void timers(double now) {
  for (int i = 0; i < O.concurrency; i++) {
    Reg *r = &REGS[i];
    if (r->state == IDLE || now < r->deadline) continue;
    if (++r->tries >= 5) {
      fail(r, "no response after 5 tries");
      continue;
    }
    double wait = 2000;
    for (int t = 0; t < r->tries; t++) wait *= 1.5;
    r->deadline = now + wait;
    queue(r->out, r->out_len);
  }
}

static void open_socket(void) {
  SOCK = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (SOCK < 0) die("socket");
  int size = 8 << 20;
  setsockopt(SOCK, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  setsockopt(SOCK, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  LOCAL = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  REMOTE = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)O.port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof LOCAL;
  if (bind(SOCK, (struct sockaddr *)&LOCAL, sizeof LOCAL) || connect(SOCK, (struct sockaddr *)&REMOTE, sizeof REMOTE) || getsockname(SOCK, (struct sockaddr *)&LOCAL, &len)) die("bind/connect on 127.0.0.1 failed");
}

int main(int argc, char **argv) {
  options(argc, argv);
  SHA256_MD = EVP_MD_fetch(NULL, "SHA256", NULL);
  SHA1_MD = EVP_MD_fetch(NULL, "SHA1", NULL);
  GCM = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
  SCRATCH = EVP_MD_CTX_new();
  HM.inner = EVP_MD_CTX_new();
  HM.outer = EVP_MD_CTX_new();
  CIPHER = EVP_CIPHER_CTX_new();
  if (!SHA256_MD || !SHA1_MD || !GCM || !SCRATCH || !HM.inner || !HM.outer || !CIPHER) die("libcrypto: SHA-256, SHA-1 or AES-256-GCM unavailable");
  scan_template();
  offered_proposal();
  open_socket();
  long count = O.end - O.first;
  LAT = calloc((size_t)count + 1, sizeof *LAT);
  REGS = calloc((size_t)O.concurrency, sizeof *REGS);
  if (!LAT || !REGS) die("out of memory");
  double keys_ms = 0;
  if (O.keys_ahead) {
    double t = now_ms();
    KEYS = calloc((size_t)count + 1, sizeof *KEYS);
    if (!KEYS) die("out of memory");
    for (long i = 0; i < count; i++) KEYS[i] = fresh_key();
    keys_ms = now_ms() - t;
  }
  /* Ready: the bench reads the GCKS's CPU, then starts the clock with a line on stdin. */
  printf("ready\n");
  fflush(stdout);
  char go[16];
  if (!fgets(go, sizeof go, stdin)) die("no go line on stdin");

  struct rusage ru0, ru1;
  getrusage(RUSAGE_SELF, &ru0);
  double t0 = now_ms();
  NEXT = O.first;
  static uint8_t bufs[BATCH][MAX_MSG];
  struct mmsghdr in[BATCH];
  struct iovec iov[BATCH];
  for (;;) {
    int active = 0;
    for (int i = 0; i < O.concurrency; i++) {
      if (REGS[i].state == IDLE && NEXT < O.end) start(&REGS[i], i);
      active += REGS[i].state != IDLE;
    }
    flush();
    if (!active) break;
    struct pollfd pfd = {SOCK, POLLIN, 0};
    if (poll(&pfd, 1, 100) < 0 && errno != EINTR) die("poll failed");
    for (int i = 0; i < BATCH; i++) {
      iov[i] = (struct iovec){bufs[i], MAX_MSG};
      in[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
    }
    int got = recvmmsg(SOCK, in, BATCH, MSG_DONTWAIT, NULL);
    for (int i = 0; i < got; i++) receive(bufs[i], (int)in[i].msg_len);
    timers(now_ms());
  }
  double seconds = (now_ms() - t0) / 1000;
  getrusage(RUSAGE_SELF, &ru1);
  double cpu_us = (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1e6 + (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec);
  if (O.latencies) {
    FILE *f = fopen(O.latencies, "wb");
    if (!f || fwrite(LAT, sizeof *LAT, (size_t)OK_N, f) != (size_t)OK_N || fclose(f)) die("cannot write the latencies file");
  }
  printf("{\"ok\":%ld,\"failed\":%ld,\"seconds\":%.6f,\"cpuUs\":%.0f,\"keysSeconds\":%.3f}\n", OK_N, FAILED_N, seconds, cpu_us, keys_ms / 1000);
  return 0;
}
