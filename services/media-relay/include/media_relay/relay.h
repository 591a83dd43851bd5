#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "media_relay/g711.h"
#include "media_relay/port_pool.h"
#include "media_relay/sdp.h"

namespace cc::relay {

struct RelaySettings {
  std::string bind_address = "127.0.0.1";  // where leg sockets are bound
  std::string advertise_address;           // what SDP announces (default: bind_address)
  std::uint16_t port_min = 30000;
  std::uint16_t port_max = 30999;
  int workers = 1;
  Duration media_timeout{30000};  // no RTP on a bridged leg (not on hold) -> event
  // An edge's legs are released when it has not listed them (edge_legs) for this long; the
  // edge's own lease replaces it once it does.
  Duration edge_lease{30000};
  Duration edge_legs_grace{5000};
  Duration relatch_after{2000};    // a silent latched source may be replaced by a new one
  bool strict_source = false;      // accept a first packet only from the SDP address
  std::string prompt_dir;          // the operator's WAV prompts: <dir>/[<lang>/]<name>.wav
  std::string default_prompt_dir;  // the defaults made from text, searched after prompt_dir
  std::string recording_dir;       // recordings are written under it
  int socket_buffer_bytes = 4 << 20;
};

struct LegStats {
  std::uint64_t packets_in = 0, packets_out = 0, bytes_in = 0, bytes_out = 0;
  std::uint64_t rtcp_in = 0, rtcp_out = 0;
  std::uint64_t packets_lost = 0;  // from sequence gaps of what arrived
  double jitter_ms = 0;            // RFC 3550 interarrival jitter
  std::uint64_t dropped = 0;
};

struct LegInfo {
  std::string id;
  std::string call_id;
  std::string label;
  std::string local_address;
  std::uint16_t local_rtp_port = 0;
  std::string remote_address;  // latched, else from SDP
  std::uint16_t remote_rtp_port = 0;
  std::string codec;                           // "PCMU" / "PCMA" / "" before negotiation
  Direction direction = Direction::kSendRecv;  // as the remote end declared it
  std::string bridged_with;
  std::string mix_id;  // the mix it is in ("" when none)
  bool playing = false;
  bool recording = false;
  LegStats stats;
};

struct LegDescription {
  LegInfo leg;
  std::string local_sdp;
};

// A leg of a mix, as the control API sets it.
struct MixMemberSpec {
  std::string leg_id;
  bool muted = false;                 // heard by nobody
  std::vector<std::string> heard_by;  // else heard only by these legs (empty: by all)
};

enum class DropReason { kMalformed, kUnknownSource, kNoBridge, kTooLarge };
inline constexpr int kDropReasons = 4;
const char* ToString(DropReason r);

// Totals of the whole relay, readable from any thread at any time.
struct RelayTotals {
  std::uint64_t packets_in = 0, packets_out = 0, bytes_in = 0, bytes_out = 0;
  std::uint64_t drops[kDropReasons] = {};
  std::uint64_t send_errors = 0;
};

// The leg an event is about: its call, and the edge that owns it ("" when none was given).
struct LegRef {
  std::string call_id;
  std::string leg_id;
  std::string edge_id;
};

// Media events, delivered from worker threads (implementations must not block).
class MediaEventSink {
 public:
  virtual ~MediaEventSink() = default;
  virtual void dtmf(const LegRef& leg, char digit, std::uint32_t duration_ms) = 0;
  // No RTP for too long: on a bridged leg (--media-timeout), or on a waiting caller's leg
  // while a prompt with an idle timeout plays.
  virtual void media_timeout(const LegRef& leg) = 0;
  // `prompts`: the names played, in order.
  virtual void prompt_finished(const LegRef& leg, const std::vector<std::string>& prompts) = 0;
};

// What an edge's list of the legs it holds did (Relay::edge_legs).
struct EdgeLegsResult {
  std::vector<std::string> unknown;  // listed, but not here (a restarted relay)
  int released = 0;                  // the edge's legs it no longer holds, released now
};

class Worker;

// The RTP relay: legs (an RTP + RTCP socket pair each) spread over worker threads, each with
// an epoll loop and batched recvmmsg/sendmmsg. A leg belongs to one worker, and only that
// worker touches it: the control methods below (thread-safe) run their work on the owning
// worker and wait for it. The packet path takes no lock and allocates nothing.
class Relay {
 public:
  Relay(RelaySettings settings, MediaEventSink& events);
  ~Relay();
  Status start();
  void stop();

  // A leg from the remote offer (answer returned) or, with an empty SDP, a leg whose local
  // offer is returned and whose answer comes through update_leg. `edge_id` (may be empty)
  // owns the leg: its events name it, and its edge_legs() lists reconcile the leg.
  Result<LegDescription> create_leg(const std::string& call_id, const std::string& label,
                                    const std::string& remote_sdp, const std::string& edge_id = "");
  // The remote answer to our offer, or a new remote offer (re-INVITE: hold, resume, new
  // address), which is answered.
  Result<LegDescription> update_leg(const std::string& leg_id, const std::string& remote_sdp);
  Status bridge(const std::string& leg_a, const std::string& leg_b);
  Status unbridge(const std::string& leg_id);
  // Mixes the listed legs (of one call) instead of bridging them: each hears the sum of the
  // members it may hear (see MixMemberSpec), in its own law. Declarative: the mix `mix_id`
  // is made or changed to exactly these members (legs of a bridge leave it, legs of the mix
  // not listed go back to silence); an empty list ends the mix.
  Status set_mix(const std::string& mix_id, const std::vector<MixMemberSpec>& members);
  // Plays the prompts in turn (looped if asked) instead of forwarding to the leg. With an
  // idle timeout, an unbridged leg that receives nothing for that long while it plays
  // raises a media timeout: a waiting caller gone silent.
  Status play(const std::string& leg_id, const std::vector<std::string>& prompts, bool loop,
              Duration idle_timeout = Duration{0});
  Status stop_play(const std::string& leg_id);
  // Records the bridge the leg is in: the "customer" leg (else this one) left, the other right.
  Result<std::string> start_recording(const std::string& leg_id, const std::string& path);
  Result<std::pair<std::string, std::uint64_t>> stop_recording(const std::string& leg_id);
  // The full path of a recording file by its path under the recording directory: refused
  // outside it (INVALID_ARGUMENT), NOT_FOUND when there is no such file (or it is gone with
  // its retention).
  Result<std::string> recording_file(const std::string& path) const;
  // While paused the file gets silence on both channels (a card number read out).
  Status pause_recording(const std::string& leg_id, bool paused);
  // Recordings are kept in "until-YYYYMMDD" folders (the edge names them by the queue's
  // retention): removes the folders of days before `today` ("YYYYMMDD"); returns the files and
  // folders removed.
  int expire_recordings(const std::string& today);
  // An agent's answer connected in one step: the remote answer on `leg_id` (if any), prompts
  // stopped on both legs, and the two bridged.
  Result<LegInfo> connect_leg(const std::string& leg_id, const std::string& remote_sdp,
                              const std::string& bridge_with);
  Result<LegStats> release_leg(const std::string& leg_id);
  // An edge lists the legs it holds here: its other legs older than the settings'
  // edge_legs_grace (a list may have been built before a leg it holds was created) are released,
  // and its lease becomes `lease` from now (legs of an edge whose lease ran out are released
  // by release_orphans()).
  EdgeLegsResult edge_legs(const std::string& edge_id, const std::vector<std::string>& held,
                           Duration lease);
  // Releases the legs of edges silent past their lease; returns how many.
  int release_orphans();
  // Changes at every start: an edge that sees it change knows its legs here are gone.
  const std::string& instance_id() const { return instance_id_; }
  Result<LegInfo> get_leg(const std::string& leg_id);
  std::vector<LegInfo> list_legs(const std::string& call_id);

  // Refuse new legs from now on; returns how many are still live.
  int drain();
  bool draining() const { return draining_; }
  int live_legs() const;
  int bridges() const;
  RelayTotals totals() const;
  const PortPool& ports() const { return ports_; }
  const RelaySettings& settings() const { return settings_; }

 private:
  friend class Worker;
  Worker* owner(const std::string& leg_id);
  Result<std::vector<std::uint8_t>> load_prompt(const std::string& name, G711Law law);
  std::string next_leg_id();

  RelaySettings settings_;
  MediaEventSink& events_;
  PortPool ports_;
  std::vector<std::unique_ptr<Worker>> workers_;
  mutable std::mutex mu_;                     // control path only
  std::map<std::string, Worker*> leg_owner_;  // leg id -> worker
  std::atomic<bool> draining_{false};
  std::atomic<std::uint64_t> next_id_{1};
  std::atomic<int> bridges_{0};
  std::map<std::string, Worker*> mix_owner_;  // mix id -> worker, under mu_
  std::string instance_id_;
  struct EdgeOwnership {
    std::map<std::string, TimePoint> legs;  // leg id -> created
    TimePoint lease_until{};
  };
  std::map<std::string, EdgeOwnership> edges_;  // by edge id, under mu_
  std::mutex prompt_mu_;
  std::map<std::pair<std::string, int>, std::shared_ptr<const std::vector<std::uint8_t>>> prompts_;
};

}  // namespace cc::relay
