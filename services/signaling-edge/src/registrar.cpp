#include "signaling_edge/registrar.h"

#include <sofia-sip/auth_plugin.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>

#include "common/log.h"
#include "signaling_edge/sofia_stack.h"

namespace cc::edge {

// A REGISTER answered after the credentials lookup and the binding write.
struct PendingRegister {
  nua_handle_t* nh = nullptr;
  nua_saved_event_t saved[1];
  std::string user;
  std::string source_ip;
  int source_port = 0;
  bool tcp = false;
  bool tls = false;
  bool answered = false;
  sip_t const* sip() const { return sip_object(nua_saved_event_request(saved)); }
};

namespace {

const auth_challenger_t kChallenger = {401, "Unauthorized", sip_www_authenticate_class,
                                       sip_authentication_info_class};

std::string ToString(url_t const* url) {
  if (!url) return "";
  su_home_t home[1] = {SU_HOME_INIT(home)};
  char* s = url_as_string(home, url);
  std::string out = s ? s : "";
  su_home_deinit(home);
  return out;
}

std::string ListContacts(const BindingsReply& r) {
  std::string out;
  for (const auto& b : r.bindings) {
    if (!out.empty()) out += ", ";
    out += "<" + b.contact + ">;expires=" + std::to_string(std::max(0, b.expires_in));
  }
  return out;
}

}  // namespace

Registrar::Registrar(const EdgeSettings& settings, SofiaStack& stack, RegistryPort& registry,
                     const Clock& clock, EdgeObserver& observer, SourceGuard& guard)
    : settings_(settings),
      stack_(stack),
      registry_(registry),
      clock_(clock),
      observer_(observer),
      guard_(guard),
      credentials_(static_cast<std::size_t>(settings.credential_cache_size),
                   std::chrono::duration_cast<Duration>(settings.credential_cache)) {}

Registrar::~Registrar() {
  *alive_ = false;
  if (auth_) auth_mod_unref(auth_);
}

Status Registrar::start(su_root_t* root) {
  auth_ = auth_mod_create(root, AUTHTAG_METHOD("Digest"), AUTHTAG_REALM(settings_.realm.c_str()),
                          AUTHTAG_QOP("auth"), AUTHTAG_MASTER_KEY(settings_.auth_secret.c_str()),
                          AUTHTAG_OPAQUE("*"),
                          AUTHTAG_EXPIRES(static_cast<unsigned>(settings_.nonce_lifetime.count())),
                          AUTHTAG_NEXT_EXPIRES(0), TAG_END());
  if (!auth_) return Internal("cannot create the digest module");
  return OkStatus();
}

void Registrar::auth_failed(const PendingRegister& reg) {
  observer_.registration("auth_failed");
  if (guard_.digest_failed(reg.source_ip, reg.user)) {
    log::Warn("user locked out from this address after repeated digest failures",
              {{"source", reg.source_ip},
               {"user", reg.user.substr(0, 64)},
               {"seconds", static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(
                                                settings_.front_door.digest_window)
                                                .count())}});
  }
}

void Registrar::respond(PendingRegister& reg, int status, const char* phrase,
                        const std::string& contacts, msg_header_t* extra, const char* min_expires) {
  if (reg.answered) return;
  reg.answered = true;
  observer_.response("REGISTER", status, true);
  nua_respond(reg.nh, status, phrase, NUTAG_WITH_SAVED(reg.saved),
              TAG_IF(!contacts.empty(), SIPTAG_CONTACT_STR(contacts.c_str())),
              TAG_IF(extra, SIPTAG_HEADER(reinterpret_cast<sip_header_t*>(extra))),
              TAG_IF(min_expires, SIPTAG_MIN_EXPIRES_STR(min_expires)),
              TAG_IF(status == 503, SIPTAG_RETRY_AFTER_STR("5")), TAG_END());
  nua_destroy_event(reg.saved);
  nua_handle_destroy(reg.nh);
}

void Registrar::on_register(nua_handle_t* nh, sip_t const* sip, const RequestSource& src) {
  requests_++;
  nua_t* nua = stack_.nua();
  auto reject = [&](int status, const char* phrase, const char* result) {
    observer_.registration(result);
    observer_.response("REGISTER", status, true);
    nua_respond(nh, status, phrase, NUTAG_WITH_THIS(nua), TAG_END());
    nua_handle_destroy(nh);
  };
  if (!sip->sip_to || !sip->sip_to->a_url->url_user) {
    reject(400, "To has no user", "rejected");
    return;
  }
  if (guard_.locked_out(src.ip, sip->sip_to->a_url->url_user)) {
    observer_.refused("REGISTER", ToString(Refusal::kLockedOut));
    reject(403, "Too many failed attempts", "locked_out");
    return;
  }
  if (!sip->sip_authorization) {
    // The challenge does not depend on the user, so it tells nothing about accounts.
    auth_status_t* as = auth_status_new(nullptr);
    as->as_method = "REGISTER";
    as->as_realm = settings_.realm.c_str();
    auth_mod_challenge(auth_, as, &kChallenger);
    observer_.registration("challenged");
    observer_.response("REGISTER", 401, true);
    nua_respond(nh, as->as_status, as->as_phrase, NUTAG_WITH_THIS(nua),
                SIPTAG_HEADER(reinterpret_cast<sip_header_t*>(as->as_response)), TAG_END());
    auth_status_unref(as);
    nua_handle_destroy(nh);
    return;
  }
  auto reg = std::make_shared<PendingRegister>();
  reg->nh = nh;
  reg->user = sip->sip_to->a_url->url_user;
  reg->source_ip = src.ip;
  reg->source_port = src.port;
  reg->tcp = src.tcp;
  reg->tls = src.tls;
  if (nua_save_event(nua, reg->saved) == 0) {
    reject(500, "Cannot defer the request", "rejected");
    return;
  }
  if (auto ha1 = credentials_.get(reg->user, clock_.now())) {
    verify(reg, *ha1);
    return;
  }
  std::weak_ptr<bool> alive = alive_;
  registry_.credentials(reg->user, [this, alive, reg](Result<std::string> r) {
    if (alive.expired() || !*alive.lock()) return;
    if (r.ok()) {
      credentials_.put(reg->user, *r, clock_.now());
      verify(reg, *r);
    } else if (r.error().code == ErrorCode::kNotFound ||
               r.error().code == ErrorCode::kInvalidArgument) {
      challenge_again(*reg);  // unknown user: exactly like a wrong password
    } else {
      respond(*reg, 503, "Registrar unavailable");
    }
  });
}

void Registrar::set_password(const std::string& user, const std::string& ha1) {
  auto& known = module_hashes_[user];
  auth_passwd_t* apw = auth_mod_getpass(auth_, user.c_str(), settings_.realm.c_str());
  if (!apw) apw = auth_mod_addpass(auth_, user.c_str(), settings_.realm.c_str());
  if (apw && (known != ha1 || !apw->apw_hash)) {
    // In the module's own memory: it outlives our cache entry. Allocated again only when the
    // password changed, so this grows with real users and their password changes only.
    apw->apw_hash = su_strdup(auth_->am_home, ha1.c_str());
    known = ha1;
  }
}

void Registrar::verify(std::shared_ptr<PendingRegister> reg, const std::string& ha1) {
  set_password(reg->user, ha1);
  auth_status_t* as = auth_status_new(nullptr);
  as->as_method = "REGISTER";
  as->as_realm = settings_.realm.c_str();
  auth_mod_verify(auth_, as, reg->sip()->sip_authorization, &kChallenger);
  if (as->as_status == 0 && (!as->as_user || reg->user != as->as_user)) {
    as->as_status = 403;  // a valid digest for another account (the module does not check)
    as->as_phrase = "Credentials do not match the To user";
  }
  if (as->as_status == 0) {
    auth_status_unref(as);
    guard_.digest_succeeded(reg->source_ip, reg->user);
    finish(std::move(reg));
    return;
  }
  if (!as->as_stale) auth_failed(*reg);
  respond(*reg, as->as_status, as->as_phrase, "", as->as_response);
  auth_status_unref(as);
}

void Registrar::challenge_again(PendingRegister& reg) {
  auth_failed(reg);
  auth_status_t* as = auth_status_new(nullptr);
  as->as_method = "REGISTER";
  as->as_realm = settings_.realm.c_str();
  auth_mod_challenge(auth_, as, &kChallenger);
  respond(reg, as->as_status, as->as_phrase, "", as->as_response);
  auth_status_unref(as);
}

void Registrar::finish(std::shared_ptr<PendingRegister> reg) {
  sip_t const* sip = reg->sip();
  const int header_expires =
      sip->sip_expires ? static_cast<int>(sip->sip_expires->ex_delta) : settings_.default_expires;
  std::weak_ptr<bool> alive = alive_;
  auto done = [this, alive, reg](const char* result) {
    return [this, alive, reg, result](Result<BindingsReply> r) {
      if (alive.expired() || !*alive.lock()) return;
      if (r.ok()) {
        observer_.registration(
            std::string(result) == "register" ? (r->created ? "created" : "refreshed") : result);
        respond(*reg, 200, "OK", ListContacts(*r));
        return;
      }
      observer_.registration("rejected");
      switch (r.error().code) {
        case ErrorCode::kInvalidArgument:
          respond(*reg, 400, "Bad Contact");
          break;
        case ErrorCode::kFailedPrecondition:
          respond(*reg, 403, "Too many registered devices");
          break;
        case ErrorCode::kAborted:
          respond(*reg, 400, "Out-of-order REGISTER");
          break;
        case ErrorCode::kNotFound:
          respond(*reg, 404, "Not Found");
          break;
        default:
          respond(*reg, 503, "Registrar unavailable");
      }
    };
  };
  sip_contact_t const* m = sip->sip_contact;
  if (!m) {  // a query: list the current bindings
    registry_.list_bindings(reg->user, done("queried"));
    return;
  }
  if (m->m_url->url_type == url_any) {  // Contact: *
    if (header_expires != 0 || m->m_next) {
      respond(*reg, 400, "Contact: * needs Expires: 0 and no other contact");
      return;
    }
    registry_.unregister(reg->user, "*", done("removed"));
    return;
  }
  // One contact per REGISTER is what phones send; the first one counts.
  const int expires = m->m_expires ? std::atoi(m->m_expires) : header_expires;
  url_t url = *m->m_url;
  const std::string port = std::to_string(reg->source_port);
  if (!url.url_port || !*url.url_port) url.url_port = port.c_str();  // port-less Contact
  const std::string contact = ToString(&url);
  if (expires == 0) {
    registry_.unregister(reg->user, contact, done("removed"));
    return;
  }
  if (expires < settings_.min_expires) {
    const std::string min = std::to_string(settings_.min_expires);
    respond(*reg, 423, "Interval Too Brief", "", nullptr, min.c_str());
    return;
  }
  BindingRequest b;
  b.user = reg->user;
  b.contact = contact;
  b.tcp = reg->tcp;
  b.tls = reg->tls;
  b.source_address = reg->source_ip;
  b.source_port = reg->source_port;
  if (sip->sip_user_agent && sip->sip_user_agent->g_string) {
    b.user_agent = std::string(sip->sip_user_agent->g_string).substr(0, 200);
  }
  b.expires = std::min(expires, settings_.max_expires);
  b.registrar_id = settings_.edge_id;
  if (sip->sip_call_id) b.sip_call_id = sip->sip_call_id->i_id;
  if (sip->sip_cseq) b.cseq = sip->sip_cseq->cs_seq;
  registry_.register_binding(b, done("register"));
}

}  // namespace cc::edge
