// libFuzzer: the edge's digest handling. The input is an Authorization header value as a phone
// sends it; it is parsed by Sofia-SIP and checked by the same digest module, with the same
// settings, the registrar uses (one known user). Anything may be refused; nothing may crash.
#include <sofia-sip/auth_module.h>
#include <sofia-sip/auth_plugin.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/su_wait.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/digest.h"

namespace {

struct Module {
  Module() {
    su_init();
    root = su_root_create(nullptr);
    am =
        auth_mod_create(root, AUTHTAG_METHOD("Digest"), AUTHTAG_REALM("fuzz.local"),
                        AUTHTAG_QOP("auth"), AUTHTAG_MASTER_KEY("fuzz-secret"), AUTHTAG_OPAQUE("*"),
                        AUTHTAG_EXPIRES(300), AUTHTAG_NEXT_EXPIRES(0), TAG_END());
    auth_passwd_t* apw = auth_mod_addpass(am, "1001", "fuzz.local");
    const std::string ha1 = cc::DigestHa1("1001", "fuzz.local", "s3cret");
    apw->apw_hash = su_strdup(am->am_home, ha1.c_str());
  }
  su_root_t* root = nullptr;
  auth_mod_t* am = nullptr;
};

const auth_challenger_t kChallenger = {401, "Unauthorized", sip_www_authenticate_class,
                                       sip_authentication_info_class};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Module module;
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (text.find('\0') != std::string::npos) return 0;  // a header line holds no NUL
  su_home_t home[1] = {SU_HOME_INIT(home)};
  sip_authorization_t* au = sip_authorization_make(home, text.c_str());
  if (au != nullptr) {
    auth_status_t* as = auth_status_new(nullptr);
    as->as_method = "REGISTER";
    as->as_realm = "fuzz.local";
    auth_mod_verify(module.am, as, au, &kChallenger);
    (void)as->as_status;
    auth_status_unref(as);
  }
  su_home_deinit(home);
  return 0;
}
