#pragma once

// Sofia-SIP with untyped magic pointers: the edge keeps its own tables keyed by handle.
#define SU_ROOT_MAGIC_T void
#define NUA_MAGIC_T void
#define NUA_HMAGIC_T void
#define SU_TIMER_ARG_T void

#include <sofia-sip/auth_digest.h>
#include <sofia-sip/auth_module.h>
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_protos.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/su.h>
#include <sofia-sip/su_tagarg.h>
#include <sofia-sip/su_wait.h>
