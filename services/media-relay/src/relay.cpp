#include "media_relay/relay.h"

#include <filesystem>
#include <set>

#include <random>

#include "common/ids.h"
#include "leg.h"
#include "media_relay/prompt_library.h"
#include "worker.h"

namespace cc::relay {

const char* ToString(DropReason r) {
  switch (r) {
    case DropReason::kMalformed:
      return "malformed";
    case DropReason::kUnknownSource:
      return "unknown_source";
    case DropReason::kNoBridge:
      return "no_bridge";
    case DropReason::kTooLarge:
      return "too_large";
  }
  return "unknown";
}

// -----------------------------------------------------------------------------------------

Relay::Relay(RelaySettings settings, MediaEventSink& events)
    : settings_(std::move(settings)),
      events_(events),
      ports_(settings_.port_min, settings_.port_max),
      instance_id_(RandomHex(8)) {
  if (settings_.advertise_address.empty()) settings_.advertise_address = settings_.bind_address;
}

Relay::~Relay() {
  stop();
}

Status Relay::start() {
  if (!MakeAddress(settings_.bind_address, 0)) {
    return InvalidArgument("bind address '" + settings_.bind_address + "' is not an IPv4 address");
  }
  for (int i = 0; i < std::max(1, settings_.workers); ++i) {
    workers_.push_back(std::make_unique<Worker>(*this, i));
    CC_RETURN_IF_ERROR(workers_.back()->start());
  }
  return OkStatus();
}

void Relay::stop() {
  for (auto& w : workers_) w->stop();
  workers_.clear();
  std::lock_guard lock(mu_);
  leg_owner_.clear();
}

std::string Relay::next_leg_id() {
  return "L" + std::to_string(next_id_++) + "-" + RandomHex(4);
}

Worker* Relay::owner(const std::string& leg_id) {
  std::lock_guard lock(mu_);
  auto it = leg_owner_.find(leg_id);
  return it == leg_owner_.end() ? nullptr : it->second;
}

namespace {

// Applies what the remote SDP says (the accepted audio stream) to a leg.
void Apply(Leg& leg, const NegotiatedAudio& audio) {
  leg.negotiated = true;
  leg.law = audio.law;
  leg.payload_type = audio.payload_type;
  leg.telephone_event_pt = audio.telephone_event_payload_type;
  leg.remote_direction = audio.remote_direction;
  leg.remote_hold = audio.remote_hold;
  const auto rtp = MakeAddress(audio.remote.address, audio.remote_rtp_port);
  const auto rtcp = MakeAddress(audio.remote.address, audio.remote_rtcp_port);
  // A new address in the SDP (not a hold's 0.0.0.0) means a new remote end: learn it again.
  if (rtp && !audio.remote.is_unspecified() && (!leg.sdp_rtp || !SameAddress(*leg.sdp_rtp, *rtp))) {
    leg.rtp_source.reset();
    leg.rtcp_source.reset();
  }
  if (!audio.remote.is_unspecified()) {
    leg.sdp_rtp = rtp;
    leg.sdp_rtcp = rtcp;
  }
}

// A peer's SDP with lines the relay left out: worth a line in the log, not a refusal.
void LogIgnoredLines(const SessionDescription& sdp, const std::string& about) {
  if (sdp.ignored.empty()) return;
  std::string lines;
  for (const auto& l : sdp.ignored) lines += (lines.empty() ? "" : "; ") + l;
  log::Info("SDP lines left out", {{"about", about}, {"lines", lines}});
}

}  // namespace

Result<LegDescription> Relay::create_leg(const std::string& call_id, const std::string& label,
                                         const std::string& remote_sdp,
                                         const std::string& edge_id) {
  if (draining_) return Unavailable("media-relay is draining: no new legs");
  std::optional<SessionDescription> offer;
  if (!remote_sdp.empty()) {
    CC_ASSIGN_OR_RETURN(offer, ParseSdp(remote_sdp));
    LogIgnoredLines(*offer, call_id);
    // An offer we cannot accept is refused before a port is taken for it.
    LocalMedia probe;
    probe.address = settings_.advertise_address;
    probe.port = 1;
    CC_RETURN_IF_ERROR(Negotiate(*offer, probe));
  }
  auto leg = std::make_unique<Leg>();
  leg->id = next_leg_id();
  leg->call_id = call_id;
  leg->label = label;
  leg->edge_id = edge_id;
  // Bind a free pair; a pair someone else holds is skipped.
  for (std::size_t attempt = 0; attempt <= ports_.capacity(); ++attempt) {
    auto port = ports_.acquire();
    if (!port) {
      return Error{ErrorCode::kResourceExhausted, "no free RTP port pair in " +
                                                      std::to_string(settings_.port_min) + "-" +
                                                      std::to_string(settings_.port_max)};
    }
    const int rtp_fd = BindUdp(settings_.bind_address, *port, settings_.socket_buffer_bytes);
    const int rtcp_fd = rtp_fd < 0
                            ? -1
                            : BindUdp(settings_.bind_address, static_cast<std::uint16_t>(*port + 1),
                                      settings_.socket_buffer_bytes);
    if (rtp_fd >= 0 && rtcp_fd >= 0) {
      leg->port = *port;
      leg->rtp = {nullptr, false, rtp_fd};
      leg->rtcp = {nullptr, true, rtcp_fd};
      break;
    }
    if (rtp_fd >= 0) close(rtp_fd);
    ports_.quarantine(*port);
  }
  if (leg->port == 0) {
    return Error{ErrorCode::kResourceExhausted, "no RTP port pair could be bound"};
  }
  std::mt19937_64 rng{std::random_device{}()};
  leg->session_id = rng() >> 1;
  leg->session_version = 1;
  LocalMedia local;
  local.address = settings_.advertise_address;
  local.port = leg->port;
  local.session_id = leg->session_id;
  local.session_version = leg->session_version;
  if (offer) {
    auto negotiated = Negotiate(*offer, local);
    if (!negotiated.ok()) {
      ports_.release(leg->port);
      close(leg->rtp.fd);
      close(leg->rtcp.fd);
      return negotiated.error();
    }
    Apply(*leg, negotiated->audio);
    leg->local_sdp = WriteSdp(negotiated->answer);
  } else {
    leg->awaiting_answer = true;
    leg->local_sdp = WriteSdp(BuildOffer(local));
  }
  // Legs of one call share a worker, so bridging them never moves a leg.
  Worker* w = workers_[std::hash<std::string>{}(call_id) % workers_.size()].get();
  LegDescription out;
  Leg* raw = leg.get();
  out.local_sdp = leg->local_sdp;
  {
    std::lock_guard lock(mu_);
    leg_owner_[leg->id] = w;
    if (!edge_id.empty()) {
      const TimePoint now = SystemClock::instance().now();
      auto& edge = edges_[edge_id];
      edge.legs[leg->id] = now;
      // An edge that has not listed its legs yet: its legs live for the default lease.
      if (edge.lease_until < now + settings_.edge_lease && edge.legs.size() == 1) {
        edge.lease_until = std::max(edge.lease_until, now + settings_.edge_lease);
      }
    }
  }
  out.leg = w->run([&] {
    w->adopt(std::move(leg));
    return w->info_of(*raw);
  });
  return out;
}

Result<LegDescription> Relay::update_leg(const std::string& leg_id, const std::string& remote_sdp) {
  Worker* w = owner(leg_id);
  if (!w) return NotFound("leg '" + leg_id + "' not found");
  CC_ASSIGN_OR_RETURN(SessionDescription sdp, ParseSdp(remote_sdp));
  LogIgnoredLines(sdp, leg_id);
  return w->run([&]() -> Result<LegDescription> {
    Leg* leg = w->find(leg_id);
    if (!leg) return NotFound("leg '" + leg_id + "' not found");
    LocalMedia local;
    local.address = settings_.advertise_address;
    local.port = leg->port;
    local.session_id = leg->session_id;
    local.session_version = leg->session_version + (leg->awaiting_answer ? 0 : 1);
    // An answer to our offer is read the same way as an offer: the audio line it accepted.
    CC_ASSIGN_OR_RETURN(Negotiation n, Negotiate(sdp, local));
    Apply(*leg, n.audio);
    if (leg->awaiting_answer) {
      leg->awaiting_answer = false;
    } else {
      leg->session_version = local.session_version;
      leg->local_sdp = WriteSdp(n.answer);
    }
    return LegDescription{w->info_of(*leg), leg->local_sdp};
  });
}

Status Relay::bridge(const std::string& a, const std::string& b) {
  if (a == b) return InvalidArgument("a leg cannot be bridged with itself");
  Worker* wa = owner(a);
  Worker* wb = owner(b);
  if (!wa) return NotFound("leg '" + a + "' not found");
  if (!wb) return NotFound("leg '" + b + "' not found");
  if (wa != wb) {
    // Legs of different calls on different workers: move b over (it must not be bridged).
    auto moved = wb->run([&]() -> Result<std::unique_ptr<Leg>> {
      Leg* leg = wb->find(b);
      if (!leg) return NotFound("leg '" + b + "' not found");
      if (leg->peer) return FailedPrecondition("leg " + b + " is bridged; unbridge it first");
      return wb->detach(b);
    });
    if (!moved.ok()) return moved.error();
    wa->run([&] { wa->adopt(std::move(moved).value()); });
    std::lock_guard lock(mu_);
    leg_owner_[b] = wa;
  }
  return wa->run([&]() -> Status {
    Leg* la = wa->find(a);
    Leg* lb = wa->find(b);
    if (!la || !lb) return NotFound("leg not found");
    if (la->peer == lb) return OkStatus();
    // A bridge takes its legs out of any mix they were in (a monitored call back to two).
    wa->leave_mix(*la);
    wa->leave_mix(*lb);
    if (la->peer || lb->peer) {
      return FailedPrecondition("leg " + std::string(la->peer ? a : b) +
                                " is already bridged; unbridge it first");
    }
    la->peer = lb;
    lb->peer = la;
    // The media timeout counts from the bridge for a leg that never sent anything.
    const TimePoint now = wa->clock().now();
    for (Leg* l : {la, lb}) {
      if (l->last_rx.time_since_epoch().count() == 0) l->last_rx = now;
    }
    bridges_++;
    return OkStatus();
  });
}

Status Relay::unbridge(const std::string& leg_id) {
  Worker* w = owner(leg_id);
  if (!w) return NotFound("leg '" + leg_id + "' not found");
  return w->run([&]() -> Status {
    Leg* leg = w->find(leg_id);
    if (!leg) return NotFound("leg '" + leg_id + "' not found");
    if (!leg->peer) return FailedPrecondition("leg " + leg_id + " is not bridged");
    Worker::stop_recording(*leg);
    leg->peer->peer = nullptr;
    leg->peer = nullptr;
    bridges_--;
    return OkStatus();
  });
}

Status Relay::set_mix(const std::string& mix_id, const std::vector<MixMemberSpec>& members) {
  if (mix_id.empty() || mix_id.size() > 128) return InvalidArgument("mix_id must be 1-128 bytes");
  if (members.size() > 32) return InvalidArgument("a mix has at most 32 members");
  std::set<std::string> ids;
  for (const auto& m : members) {
    if (!ids.insert(m.leg_id).second) {
      return InvalidArgument("leg '" + m.leg_id + "' is listed twice");
    }
  }
  for (const auto& m : members) {
    for (const auto& h : m.heard_by) {
      if (!ids.count(h) || h == m.leg_id) {
        return InvalidArgument("leg '" + m.leg_id + "' is heard by '" + h +
                               "', which is not another member of the mix");
      }
    }
  }
  Worker* target = nullptr;
  {
    std::lock_guard lock(mu_);
    auto it = mix_owner_.find(mix_id);
    if (it != mix_owner_.end()) target = it->second;
  }
  for (const auto& m : members) {
    if (!owner(m.leg_id)) return NotFound("leg '" + m.leg_id + "' not found");
  }
  if (!target) {
    if (members.empty()) return OkStatus();  // no such mix: nothing to end
    target = owner(members[0].leg_id);
  }
  // Every member on the mix's worker, bridged with nobody.
  for (const auto& m : members) {
    Worker* w = owner(m.leg_id);
    if (!w) return NotFound("leg '" + m.leg_id + "' not found");
    // The recording of the bridge goes on in the mix (the caller left, the agent right).
    auto unbridge = [&](Leg& leg) {
      if (!leg.peer) return;
      leg.peer->peer = nullptr;
      leg.peer = nullptr;
      bridges_--;
    };
    if (w == target) {
      target->run([&] {
        if (Leg* leg = target->find(m.leg_id)) unbridge(*leg);
      });
      continue;
    }
    auto moved = w->run([&]() -> std::unique_ptr<Leg> {
      Leg* leg = w->find(m.leg_id);
      if (!leg) return nullptr;
      unbridge(*leg);
      return w->detach(m.leg_id);
    });
    if (!moved) return NotFound("leg '" + m.leg_id + "' not found");
    target->run([&] { target->adopt(std::move(moved)); });
    std::lock_guard lock(mu_);
    leg_owner_[m.leg_id] = target;
  }
  target->run([&] { target->set_mix(mix_id, members); });
  std::lock_guard lock(mu_);
  if (members.empty()) {
    mix_owner_.erase(mix_id);
  } else {
    mix_owner_[mix_id] = target;
  }
  return OkStatus();
}

namespace {

// Prompts the relay can always play, so that a fresh installation has music on hold: "moh"
// (a quiet 8 s loop of a few notes) and "beep" (200 ms at 1 kHz). A file of the same name in
// the prompt directory wins.
std::optional<std::vector<std::uint8_t>> BuiltinPrompt(const std::string& name, G711Law law) {
  std::vector<std::int16_t> pcm;
  auto tone = [&](double hz, int ms, double level) {
    const int n = ms * 8;
    for (int i = 0; i < n; ++i) {
      const double fade = std::min({1.0, i / 400.0, (n - i) / 400.0});
      pcm.push_back(static_cast<std::int16_t>(level * fade * 32767.0 *
                                              std::sin(2 * 3.14159265358979 * hz * i / 8000.0)));
    }
  };
  if (name == "moh") {
    for (double hz : {392.0, 440.0, 494.0, 523.3, 494.0, 440.0, 392.0, 330.0}) tone(hz, 1000, 0.12);
  } else if (name == "beep") {
    tone(1000, 200, 0.3);
  } else {
    return std::nullopt;
  }
  std::vector<std::uint8_t> out(pcm.size());
  EncodeG711(law, pcm, out);
  return out;
}

}  // namespace

Result<std::vector<std::uint8_t>> Relay::load_prompt(const std::string& name, G711Law law) {
  const PromptLibrary library({settings_.prompt_dir, settings_.default_prompt_dir});
  auto path = library.find(name);
  if (path.ok()) return LoadPromptG711(*path, law);
  if (path.error().code != ErrorCode::kNotFound) return path.error();
  if (auto builtin = BuiltinPrompt(name, law)) return std::move(*builtin);
  return path.error();
}

Status Relay::play(const std::string& leg_id, const std::vector<std::string>& names, bool loop,
                   Duration idle_timeout) {
  if (names.empty()) return InvalidArgument("give at least one prompt");
  Worker* w = owner(leg_id);
  if (!w) return NotFound("leg '" + leg_id + "' not found");
  auto law = w->run([&]() -> Result<G711Law> {
    Leg* leg = w->find(leg_id);
    if (!leg) return NotFound("leg '" + leg_id + "' not found");
    if (!leg->negotiated) return FailedPrecondition("leg " + leg_id + " has no codec yet");
    return leg->law;
  });
  if (!law.ok()) return law.error();
  std::vector<PromptAudio> audio;
  for (const auto& name : names) {
    const auto key = std::make_pair(name, static_cast<int>(*law));
    std::lock_guard lock(prompt_mu_);
    auto it = prompts_.find(key);
    if (it == prompts_.end()) {
      auto loaded = load_prompt(name, *law);
      if (!loaded.ok()) {
        return Error{loaded.error().code, "prompt '" + name + "': " + loaded.error().message};
      }
      it =
          prompts_
              .emplace(key,
                       std::make_shared<const std::vector<std::uint8_t>>(std::move(loaded).value()))
              .first;
    }
    audio.push_back(it->second);
  }
  return w->run([&]() -> Status {
    Leg* leg = w->find(leg_id);
    if (!leg) return NotFound("leg '" + leg_id + "' not found");
    std::mt19937 rng{std::random_device{}()};
    if (!leg->out) {
      leg->out = std::make_unique<SequenceRewriter>(static_cast<std::uint32_t>(rng()),
                                                    static_cast<std::uint16_t>(rng()),
                                                    static_cast<std::uint32_t>(rng()));
    }
    PacerConfig config;
    config.law = leg->law;
    config.payload_type = leg->payload_type;
    config.ssrc = static_cast<std::uint32_t>(rng());  // a new source for the rewriter
    config.first_sequence = static_cast<std::uint16_t>(rng());
    config.first_timestamp = static_cast<std::uint32_t>(rng());
    config.loop = loop;
    const TimePoint now = w->clock().now();
    CC_ASSIGN_OR_RETURN(PromptPacer pacer, PromptPacer::Create(config, audio, now));
    leg->pacer = std::make_unique<PromptPacer>(std::move(pacer));
    leg->pacer_prompts = names;
    leg->idle_timeout = idle_timeout;
    // A caller who never sent anything is silent from the start of the prompt.
    if (leg->last_rx.time_since_epoch().count() == 0) leg->last_rx = now;
    leg->timeout_reported = false;
    return OkStatus();
  });
}

Status Relay::stop_play(const std::string& leg_id) {
  Worker* w = owner(leg_id);
  if (!w) return NotFound("leg '" + leg_id + "' not found");
  return w->run([&]() -> Status {
    Leg* leg = w->find(leg_id);
    if (!leg) return NotFound("leg '" + leg_id + "' not found");
    leg->pacer.reset();  // forwarding resumes through the leg's rewriter
    leg->idle_timeout = Duration{0};
    return OkStatus();
  });
}

namespace {

// A recording's path: relative, inside the recording directory.
Status CheckRecordingPath(const std::string& path) {
  if (path.empty() || path.find("..") != std::string::npos || path.front() == '/' ||
      path.size() > 200) {
    return InvalidArgument("recording path '" + path.substr(0, 200) +
                           "' must be a relative path inside the recording directory");
  }
  return OkStatus();
}

}  // namespace

Result<std::string> Relay::recording_file(const std::string& path) const {
  if (settings_.recording_dir.empty()) {
    return FailedPrecondition("recording is off: no recording directory configured");
  }
  CC_RETURN_IF_ERROR(CheckRecordingPath(path));
  const std::string full = settings_.recording_dir + "/" + path;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(full, ec)) {
    return NotFound("no recording " + path + " here (another relay's, or past its retention)");
  }
  return full;
}

Result<std::string> Relay::start_recording(const std::string& leg_id, const std::string& path) {
  if (settings_.recording_dir.empty()) {
    return FailedPrecondition("recording is off: no recording directory configured");
  }
  CC_RETURN_IF_ERROR(CheckRecordingPath(path));
  Worker* w = owner(leg_id);
  if (!w) return NotFound("leg '" + leg_id + "' not found");
  const std::string full = settings_.recording_dir + "/" + path;
  // Folders in the path (a retention day's) are made on the way.
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(full).parent_path(), ec);
  if (ec) return Unavailable("cannot make the folder of " + path + ": " + ec.message());
  return w->run([&]() -> Result<std::string> {
    Leg* leg = w->find(leg_id);
    if (!leg) return NotFound("leg '" + leg_id + "' not found");
    if (!leg->peer) return FailedPrecondition("leg " + leg_id + " is not bridged");
    if (leg->recording) return FailedPrecondition("the bridge is already being recorded");
    CC_ASSIGN_OR_RETURN(StereoWavWriter writer, StereoWavWriter::Open(full));
    auto rec = std::make_shared<Recording>(std::move(writer));
    rec->path = full;
    rec->next_write = w->clock().now();
    Leg* left = leg->peer->label == "customer" && leg->label != "customer" ? leg->peer : leg;
    Leg* right = left == leg ? leg->peer : leg;
    left->recording = right->recording = rec;
    left->recording_channel = 0;
    right->recording_channel = 1;
    return full;
  });
}

Status Relay::pause_recording(const std::string& leg_id, bool paused) {
  Worker* w = owner(leg_id);
  if (!w) return NotFound("leg '" + leg_id + "' not found");
  return w->run([&]() -> Status {
    Leg* leg = w->find(leg_id);
    if (!leg) return NotFound("leg '" + leg_id + "' not found");
    if (!leg->recording) return FailedPrecondition("leg " + leg_id + " is not being recorded");
    leg->recording->paused = paused;
    return OkStatus();
  });
}

int Relay::expire_recordings(const std::string& today) {
  if (settings_.recording_dir.empty()) return 0;
  int removed = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(settings_.recording_dir, ec)) {
    const std::string name = entry.path().filename().string();
    // "until-YYYYMMDD": kept through that day.
    if (!entry.is_directory() || name.rfind("until-", 0) != 0 || name.size() != 14) continue;
    if (name.substr(6) >= today) continue;
    std::error_code rm;
    const auto n = std::filesystem::remove_all(entry.path(), rm);
    if (!rm) removed += static_cast<int>(n);
  }
  return removed;
}

Result<std::pair<std::string, std::uint64_t>> Relay::stop_recording(const std::string& leg_id) {
  Worker* w = owner(leg_id);
  if (!w) return NotFound("leg '" + leg_id + "' not found");
  return w->run([&]() -> Result<std::pair<std::string, std::uint64_t>> {
    Leg* leg = w->find(leg_id);
    if (!leg) return NotFound("leg '" + leg_id + "' not found");
    if (!leg->recording) return FailedPrecondition("leg " + leg_id + " is not being recorded");
    auto rec = leg->recording;
    Worker::stop_recording(*leg);
    if (leg->peer) Worker::stop_recording(*leg->peer);
    return std::make_pair(rec->path, rec->bytes_written);
  });
}

Result<LegStats> Relay::release_leg(const std::string& leg_id) {
  Worker* w = owner(leg_id);
  if (!w) return NotFound("leg '" + leg_id + "' not found");
  auto stats = w->run([&]() -> Result<std::pair<LegStats, std::uint16_t>> {
    auto leg = w->detach(leg_id);
    if (!leg) return NotFound("leg '" + leg_id + "' not found");
    LegStats s = w->stats_of(*leg);
    w->close_leg(*leg);
    return std::make_pair(s, leg->port);
  });
  if (!stats.ok()) return stats.error();
  ports_.release(stats->second);
  std::lock_guard lock(mu_);
  leg_owner_.erase(leg_id);
  for (auto it = edges_.begin(); it != edges_.end(); ++it) {
    if (it->second.legs.erase(leg_id)) break;
  }
  return stats->first;
}

Result<LegInfo> Relay::connect_leg(const std::string& leg_id, const std::string& remote_sdp,
                                   const std::string& bridge_with) {
  if (!remote_sdp.empty()) CC_RETURN_IF_ERROR(update_leg(leg_id, remote_sdp));
  CC_RETURN_IF_ERROR(stop_play(leg_id));
  CC_RETURN_IF_ERROR(stop_play(bridge_with));
  CC_RETURN_IF_ERROR(bridge(bridge_with, leg_id));
  return get_leg(leg_id);
}

EdgeLegsResult Relay::edge_legs(const std::string& edge_id, const std::vector<std::string>& held,
                                Duration lease) {
  const Duration grace = settings_.edge_legs_grace;
  EdgeLegsResult out;
  const TimePoint now = SystemClock::instance().now();
  std::vector<std::string> release;
  {
    std::lock_guard lock(mu_);
    auto& edge = edges_[edge_id];
    edge.lease_until = now + lease;
    std::set<std::string> listed(held.begin(), held.end());
    for (const auto& [id, created] : edge.legs) {
      if (!listed.count(id) && now - created > grace) release.push_back(id);
    }
    for (const auto& id : held) {
      if (!leg_owner_.count(id)) out.unknown.push_back(id);
    }
  }
  for (const auto& id : release) {
    if (release_leg(id).ok()) ++out.released;
  }
  if (out.released > 0) {
    log::Warn("released legs their edge no longer holds",
              {{"edge_id", edge_id}, {"legs", out.released}});
  }
  return out;
}

int Relay::release_orphans() {
  const TimePoint now = SystemClock::instance().now();
  std::vector<std::pair<std::string, std::string>> release;  // edge, leg
  {
    std::lock_guard lock(mu_);
    for (auto it = edges_.begin(); it != edges_.end();) {
      if (it->second.lease_until < now) {
        for (const auto& [id, created] : it->second.legs) release.emplace_back(it->first, id);
        if (it->second.legs.empty()) {
          it = edges_.erase(it);
          continue;
        }
      }
      ++it;
    }
  }
  int released = 0;
  for (const auto& [edge, id] : release) {
    if (release_leg(id).ok()) ++released;
  }
  if (released > 0) {
    log::Warn("released legs of edges that went silent", {{"legs", released}});
  }
  return released;
}

Result<LegInfo> Relay::get_leg(const std::string& leg_id) {
  Worker* w = owner(leg_id);
  if (!w) return NotFound("leg '" + leg_id + "' not found");
  return w->run([&]() -> Result<LegInfo> {
    Leg* leg = w->find(leg_id);
    if (!leg) return NotFound("leg '" + leg_id + "' not found");
    return w->info_of(*leg);
  });
}

std::vector<LegInfo> Relay::list_legs(const std::string& call_id) {
  std::vector<LegInfo> out;
  for (auto& w : workers_) {
    auto part = w->run([&] { return w->list(call_id); });
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

int Relay::drain() {
  draining_ = true;
  return live_legs();
}

int Relay::live_legs() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(leg_owner_.size());
}

int Relay::bridges() const {
  return bridges_.load();
}

RelayTotals Relay::totals() const {
  RelayTotals t;
  for (const auto& w : workers_) {
    t.packets_in += w->packets_in.load(std::memory_order_relaxed);
    t.packets_out += w->packets_out.load(std::memory_order_relaxed);
    t.bytes_in += w->bytes_in.load(std::memory_order_relaxed);
    t.bytes_out += w->bytes_out.load(std::memory_order_relaxed);
    t.send_errors += w->send_errors.load(std::memory_order_relaxed);
    for (int i = 0; i < kDropReasons; ++i) {
      t.drops[i] += w->drops[static_cast<size_t>(i)].load(std::memory_order_relaxed);
    }
  }
  return t;
}

}  // namespace cc::relay
