/**
 * Linux uapi numbers and layouts for XFRM over netlink: include/uapi/linux/xfrm.h and
 * include/uapi/linux/netlink.h (x86_64/arm64 layouts; host byte order except __be fields).
 * Offsets were checked with offsetof() against linux-libc-dev 6.1; XFRMA_SA_DIR (6.10+)
 * follows XFRMA_MTIMER_THRESH in enum xfrm_attr_type_t.
 */

/** struct nlmsghdr, nlmsg_flags, NLMSG_ERROR / NLMSG_DONE, NLMSGERR_ATTR_* (netlink.h). */
export const NLMSG_HDRLEN = 16;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLM_F_REQUEST = 0x1;
export const NLM_F_ACK = 0x4;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_CAPPED = 0x100; // in acks: the echoed request was cut to its header
export const NLM_F_ACK_TLVS = 0x200; // in acks: extended ack attributes follow
export const NLMSGERR_ATTR_MSG = 1;
export const NLMSGERR_ATTR_OFFS = 2;
export const NLA_HDRLEN = 4;

/** enum { XFRM_MSG_BASE = 0x10, ... } */
export const XfrmMsg = {
  NEWSA: 0x10,
  DELSA: 0x11,
  GETSA: 0x12,
  NEWPOLICY: 0x13,
  DELPOLICY: 0x14,
  GETPOLICY: 0x15,
  NEWAE: 0x1e,
  GETAE: 0x1f,
} as const;

/** enum xfrm_attr_type_t */
export const Xfrma = {
  ENCAP: 4, // struct xfrm_encap_tmpl
  TMPL: 5, // struct xfrm_user_tmpl[]
  LTIME_VAL: 9, // struct xfrm_lifetime_cur
  REPLAY_VAL: 10, // struct xfrm_replay_state
  SRCADDR: 13, // xfrm_address_t
  ALG_AEAD: 18, // struct xfrm_algo_aead
  REPLAY_ESN_VAL: 23, // struct xfrm_replay_state_esn
  SA_EXTRA_FLAGS: 24, // __u32
  TFCPAD: 22, // __u32
  OFFLOAD_DEV: 28, // struct xfrm_user_offload
  IF_ID: 31, // __u32
  MTIMER_THRESH: 32, // __u32
  SA_DIR: 33, // __u8 (Linux 6.10)
} as const;

/** XFRM_MODE_* */
export const XfrmMode = { transport: 0, tunnel: 1, beet: 4 } as const;
export type XfrmModeName = keyof typeof XfrmMode;

/** xfrm_usersa_info.flags (XFRM_STATE_*) and XFRMA_SA_EXTRA_FLAGS (XFRM_SA_XFLAG_*). */
export const XFRM_STATE_ESN = 128;
export const XFRM_SA_XFLAG_OSEQ_MAY_WRAP = 2;

/** struct xfrm_user_offload.flags */
export const XFRM_OFFLOAD_IPV6 = 1;
export const XFRM_OFFLOAD_INBOUND = 2;
export const XFRM_OFFLOAD_PACKET = 4;

/** enum xfrm_sa_dir */
export const XfrmSaDir = { in: 1, out: 2 } as const;
/** XFRM_POLICY_IN / OUT / FWD */
export const XfrmPolicyDir = { in: 0, out: 1, fwd: 2 } as const;
export const XFRM_POLICY_ALLOW = 0;
export const XFRM_POLICY_BLOCK = 1;
/** XFRM_AE_RVAL: the NEWAE carries a replay value. */
export const XFRM_AE_RVAL = 2;

/** UDP_ENCAP_ESPINUDP (linux/udp.h), RFC 3948. */
export const UDP_ENCAP_ESPINUDP = 2;
export const IPPROTO_ESP = 50;
export const AF_INET = 2;
export const AF_INET6 = 10;
/** XFRM_INF: no limit in struct xfrm_lifetime_cfg. */
export const XFRM_INF = 0xffff_ffff_ffff_ffffn;
/** XFRMA_REPLAY_ESN_MAX: bytes of bitmap the kernel accepts. */
export const XFRMA_REPLAY_ESN_MAX = 4096;

/** sizeof() of the structs used here. */
export const Size = {
  selector: 56,
  usersaInfo: 224,
  usersaId: 24,
  userpolicyInfo: 168,
  userpolicyId: 64,
  userTmpl: 64,
  encapTmpl: 24,
  aeventId: 48,
  replayState: 12,
  replayStateEsn: 24,
  userOffload: 8,
  algoAead: 72,
  address: 16,
  lifetimeCfg: 64,
  lifetimeCur: 32,
} as const;

/** offsetof() within struct xfrm_usersa_info. */
export const UsersaInfo = {
  sel: 0,
  idDaddr: 56,
  idSpi: 72,
  idProto: 76,
  saddr: 80,
  lft: 96,
  curlft: 160,
  statsReplayWindow: 192,
  statsReplay: 196,
  statsIntegrityFailed: 200,
  seq: 204,
  reqid: 208,
  family: 212,
  mode: 214,
  replayWindow: 215,
  flags: 216,
} as const;
