#pragma once

// Fakes of the edge's ports and of the SIP side, for unit tests of call sessions: each
// records what was asked of it and keeps the reply for the test to give.
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "signaling_edge/ports.h"
#include "signaling_edge/sip_leg.h"

namespace cc::edge::testing {

class FakeLeg final : public SipLeg {
 public:
  explicit FakeLeg(std::string name) : name_(std::move(name)) {}
  void ringing() override { actions.push_back("180"); }
  void progress(const std::string& sdp) override {
    actions.push_back("183");
    sdp_sent = sdp;
  }
  void answer(const std::string& sdp) override {
    actions.push_back("200");
    sdp_sent = sdp;
  }
  void reject(int status, const EndReason& reason) override {
    actions.push_back(std::to_string(status));
    last_reason = reason;
  }
  void bye(const EndReason& reason) override {
    actions.push_back("BYE");
    last_reason = reason;
  }
  void cancel() override { actions.push_back("CANCEL"); }
  void refer(const std::string& uri) override { actions.push_back("REFER " + uri); }
  void redirect(const std::string& uri) override { actions.push_back("302 " + uri); }
  void notify_refer(int status) override { actions.push_back("NOTIFY " + std::to_string(status)); }
  std::string sip_callid() const override { return name_; }

  // Everything sent on this leg, comma separated ("180,200,BYE").
  std::string sent() const {
    std::string out;
    for (const auto& a : actions) out += (out.empty() ? "" : ",") + a;
    return out;
  }

  std::vector<std::string> actions;
  std::string sdp_sent;
  EndReason last_reason;

 private:
  std::string name_;
};

class FakeAnswer final : public PendingAnswer {
 public:
  explicit FakeAnswer(std::string* out) : out_(out) {}
  void accept(const std::string& sdp) override { *out_ = "200 " + sdp; }
  void refuse(int status) override { *out_ = std::to_string(status); }

 private:
  std::string* out_;
};

class FakeSip final : public SipPort {
 public:
  std::unique_ptr<SipLeg> invite(const AgentInvite& inv) override {
    invites.push_back(inv);
    if (inv.contact == unreachable_contact) return nullptr;
    auto leg = std::make_unique<FakeLeg>("agent-" + std::to_string(invites.size()));
    legs.push_back(leg.get());
    return leg;
  }
  std::vector<AgentInvite> invites;
  std::vector<FakeLeg*> legs;  // owned by the session
  std::string unreachable_contact;
};

class FakeMedia final : public MediaPort {
 public:
  struct Create {
    NewLeg leg;
    Reply<LegWithSdp> done;
  };
  struct Update {
    RelayLeg leg;
    std::string sdp;
    Reply<std::string> done;
  };
  struct Connect {
    RelayLeg agent;
    std::string sdp;
    RelayLeg customer;
    Reply<Ok> done;
  };
  struct PlayCall {
    RelayLeg leg;
    std::vector<std::string> prompts;
    Duration idle_timeout{0};
  };
  void create_leg(const NewLeg& leg, Reply<LegWithSdp> done) override {
    creates.push_back({leg, std::move(done)});
  }
  void update_leg(const RelayLeg& leg, const std::string& sdp, Reply<std::string> done) override {
    updates.push_back({leg, sdp, std::move(done)});
  }
  void connect(const RelayLeg& agent, const std::string& sdp, const RelayLeg& customer,
               Reply<Ok> done) override {
    connects.push_back({agent, sdp, customer, std::move(done)});
  }
  void play(const RelayLeg& leg, const std::vector<std::string>& prompts, bool,
            Duration idle_timeout, Reply<Ok> done) override {
    plays.push_back({leg, prompts, idle_timeout});
    done(OkStatus());
  }
  void stop_play(const RelayLeg& leg) override { stopped.push_back(leg.id); }
  void set_mix(const std::string& relay, const std::string& mix_id,
               const std::vector<MixPart>& members, Reply<Ok> done) override {
    mixes.push_back({relay, mix_id, members});
    done(OkStatus());
  }
  struct MixCall {
    std::string relay, mix_id;
    std::vector<MixPart> members;
  };
  std::vector<MixCall> mixes;
  void start_recording(const RelayLeg& leg, const std::string& path, Reply<Ok> done) override {
    recording.push_back("start " + leg.id + " " + path);
    done(OkStatus());
  }
  void pause_recording(const RelayLeg& leg, bool paused, Reply<Ok> done) override {
    recording.push_back((paused ? "pause " : "resume ") + leg.id);
    done(OkStatus());
  }
  void stop_recording(const RelayLeg& leg, Reply<std::uint64_t> done) override {
    recording.push_back("stop " + leg.id);
    done(std::uint64_t{4096});
  }
  std::vector<std::string> recording;
  void release(const RelayLeg& leg) override { released.push_back(leg.id); }

  // Answers the oldest pending create with a leg "<label>-leg" on relay "r1".
  void create_ok() {
    auto c = std::move(creates.front());
    creates.pop_front();
    c.done(LegWithSdp{{"r1", c.leg.label + "-leg"}, "sdp-of-" + c.leg.label});
  }
  void create_fails(Error e) {
    auto c = std::move(creates.front());
    creates.pop_front();
    c.done(std::move(e));
  }
  void connect_ok() {
    auto c = std::move(connects.front());
    connects.pop_front();
    c.done(OkStatus());
  }

  std::deque<Create> creates;
  std::deque<Update> updates;
  std::deque<Connect> connects;
  std::vector<PlayCall> plays;
  std::vector<std::string> released;
  std::vector<std::string> stopped;
};

class FakeQueue final : public QueuePort {
 public:
  struct EnqueueCall {
    EnqueueRequest req;
    Reply<Enqueued> done;
  };
  struct ReportCall {
    Report report;
    Reply<Ok> done;
  };
  void enqueue(const EnqueueRequest& req, Reply<Enqueued> done) override {
    enqueues.push_back({req, std::move(done)});
  }
  void report(const Report& r, Reply<Ok> done) override {
    reports.push_back({r, std::move(done)});
    sent.push_back(std::string(ToString(r.kind)));
  }
  void heartbeat(const Heartbeat& hb, Reply<HeartbeatReply> done) override {
    heartbeats.push_back(hb);
    (void)done;
  }

  void request_callback(const std::string& call_id, const std::string& number, const std::string&,
                        Reply<Ok> done) override {
    callbacks.push_back({call_id + " " + number, std::move(done)});
  }
  std::deque<std::pair<std::string, Reply<Ok>>> callbacks;

  void report_monitor(std::int64_t session_id, const std::string&, bool answered,
                      const std::string& reason, Reply<Ok> done) override {
    monitor_reports.push_back(std::to_string(session_id) +
                              (answered ? " answered" : " ended: " + reason));
    done(OkStatus());
  }
  std::vector<std::string> monitor_reports;

  void report_recording(const RecordingNews& n, Reply<Ok> done) override {
    static const char* const kEvents[] = {"start", "pause", "resume", "stop"};
    recording_reports.push_back(std::string(kEvents[static_cast<int>(n.event)]) + " " + n.path +
                                " " + std::to_string(n.assignment_id) +
                                (n.keep_until.empty() ? "" : " until " + n.keep_until) +
                                (n.bytes ? " " + std::to_string(n.bytes) + " bytes" : ""));
    done(OkStatus());
  }
  std::vector<std::string> recording_reports;

  void transfer(const TransferAsk& ask, Reply<Ok> done) override {
    transfers.push_back({ask, std::move(done)});
  }
  // Answers the oldest pending transfer.
  void transfer_answers(Result<Ok> r) {
    auto t = std::move(transfers.front());
    transfers.pop_front();
    t.second(std::move(r));
  }
  std::deque<std::pair<TransferAsk, Reply<Ok>>> transfers;

  void position(const std::string& call_id, Reply<QueuePosition> done) override {
    positions.push_back({call_id, std::move(done)});
  }
  // Answers the oldest pending position request.
  void position_answers(Result<QueuePosition> r) {
    auto p = std::move(positions.front());
    positions.pop_front();
    p.second(std::move(r));
  }
  std::deque<std::pair<std::string, Reply<QueuePosition>>> positions;

  void enqueue_answers(Result<Enqueued> r) {
    auto e = std::move(enqueues.front());
    enqueues.pop_front();
    e.done(std::move(r));
  }
  void report_answers(Result<Ok> r) {
    auto e = std::move(reports.front());
    reports.pop_front();
    e.done(std::move(r));
  }
  // Every report sent so far, retries included, comma separated.
  std::string sent_reports() const {
    std::string out;
    for (const auto& s : sent) out += (out.empty() ? "" : ",") + s;
    return out;
  }

  std::deque<EnqueueCall> enqueues;
  std::deque<ReportCall> reports;
  std::vector<std::string> sent;
  std::vector<Heartbeat> heartbeats;
};

}  // namespace cc::edge::testing
