// Recording on the wire, heard by tone: a queue that records always, a caller and an agent
// each sending their own frequency (ToneParty), the recording paused through the API while
// "a card number is read" and resumed. The stereo file must hold the caller's tone on the
// left, the agent's on the right, silence for the paused span, and the metadata must say the
// same: the file, the agent, the pause, the retention day. A queue that never records
// refuses to.
#include <filesystem>
#include <fstream>

#include "tone_fixture.h"

namespace cc {
namespace {

constexpr int kCaller = 500, kAgent = 1100;

class RecordingIt : public ToneStackIt {
 protected:
  RecordingIt() {
    recordings_ = ::testing::TempDir() + "/recordings-" + RandomHex(4);
    extra_relay_args_ = {"--recording-dir=" + recordings_};
  }
  ~RecordingIt() override { std::filesystem::remove_all(recordings_); }

  void Policy(const std::string& queue, v1::RecordingPolicy::Mode mode, int days) {
    v1::UpdateQueueRequest req;
    req.mutable_queue()->set_name(queue);
    req.mutable_queue()->mutable_recording()->set_mode(mode);
    req.mutable_queue()->mutable_recording()->set_retention_days(days);
    req.add_update_mask("recording");
    v1::QueueResponse resp;
    auto st = queues_->UpdateQueue(Ctx().get(), req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  grpc::Status Record(v1::RecordingAction action) {
    v1::RecordCallRequest req;
    req.set_call_id(Scalar("SELECT id FROM calls"));
    req.set_action(action);
    v1::RecordCallResponse resp;
    return queues_->RecordCall(Ctx().get(), req, &resp);
  }

  // 100 ms blocks of a stereo WAV file: per block, which of the two tones each channel holds
  // ("L" caller, "R" agent, "." silence, "?" something else).
  static std::string Blocks(const std::string& path, int& blocks) {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
    if (bytes.size() < 44) return "";
    const auto* pcm = reinterpret_cast<const std::int16_t*>(bytes.data() + 44);
    const std::size_t frames = (bytes.size() - 44) / 4;
    std::string out;
    for (std::size_t b = 0; b + 800 <= frames; b += 800) {
      std::vector<double> left, right;
      double el = 0, er = 0;
      for (std::size_t i = b; i < b + 800; ++i) {
        left.push_back(pcm[2 * i]);
        right.push_back(pcm[2 * i + 1]);
        el += static_cast<double>(pcm[2 * i]) * pcm[2 * i];
        er += static_cast<double>(pcm[2 * i + 1]) * pcm[2 * i + 1];
      }
      const bool l_silent = el / 800 < 100 * 100, r_silent = er / 800 < 100 * 100;
      if (l_silent && r_silent) {
        out += '.';
      } else if (!l_silent && !r_silent && testing::ToneShare(left, kCaller) > 0.5 &&
                 testing::ToneShare(right, kAgent) > 0.5) {
        out += 'T';  // the caller left, the agent right
      } else {
        out += '?';
      }
    }
    blocks = static_cast<int>(out.size());
    return out;
  }

  std::string recordings_;
};

TEST_F(RecordingIt, TheFileHoldsTheCallerLeftTheAgentRightAndSilenceWhilePaused) {
  AddQueue("sales", v1::ANSWER_MODE_ANSWER_IMMEDIATELY);
  AddQueue("support", v1::ANSWER_MODE_ANSWER_IMMEDIATELY);
  Policy("sales", v1::RecordingPolicy::MODE_ALWAYS, 7);
  const int pa = testing::FreeUdpPort();
  AddAgent("ann", "pw", {"sales"});
  Bind("ann", pa);
  testing::ToneParty caller(kCaller), ann(kAgent);
  auto ann_phone = Phone("agent_tone.xml", pa, ann);
  auto customer = Caller("sales", caller, 6500);
  std::set<std::string> legs;
  caller.send_to(NewLegPort("customer", legs));
  ann.send_to(NewLegPort("agent", legs));
  ExpectScalarSoon("SELECT count(*) FROM recordings", "1");
  std::this_thread::sleep_for(milliseconds(1500));
  ASSERT_TRUE(Record(v1::RECORDING_ACTION_PAUSE).ok());
  std::this_thread::sleep_for(milliseconds(1500));
  ASSERT_TRUE(Record(v1::RECORDING_ACTION_RESUME).ok());
  EXPECT_EQ(customer->wait(seconds(30)), 0) << customer->output();
  EXPECT_EQ(ann_phone->wait(seconds(10)), 0) << ann_phone->output();
  ExpectScalarSoon("SELECT ended_at IS NOT NULL FROM recordings", "t");

  // The metadata: the file of ann's leg, kept a week, one pause of about a second and a half.
  const std::string path = Scalar("SELECT path FROM recordings");
  const std::string call = Scalar("SELECT id FROM calls");
  EXPECT_EQ(path, Scalar("SELECT 'until-' || to_char(current_date + 7, 'YYYYMMDD') || '/' || '" +
                         call + "' || '-' || assignment_id || '.wav' FROM recordings"));
  EXPECT_EQ(Scalar("SELECT concat_ws('|', agent_id, queue, keep_until = current_date + 7,"
                   " started_by) FROM recordings"),
            "ann|sales|t|queue policy");
  const double paused_s =
      std::stod(Scalar("SELECT extract(epoch FROM resumed_at - paused_at) FROM recording_pauses"));
  EXPECT_NEAR(paused_s, 1.5, 0.4);

  // The file: tones, then silence as long as the pause, then tones again.
  int blocks = 0;
  const std::string shape = Blocks(recordings_ + "/" + path, blocks);
  ASSERT_GT(blocks, 30) << shape;
  const auto first_silent = shape.find("....");
  ASSERT_NE(first_silent, std::string::npos) << shape;
  const auto last_silent = shape.find_last_of('.');
  const double silent_s = (last_silent - first_silent + 1) / 10.0;
  EXPECT_NEAR(silent_s, paused_s, 0.4) << shape;
  EXPECT_GE(std::count(shape.begin(), shape.begin() + first_silent, 'T'), 8) << shape;
  EXPECT_GE(std::count(shape.begin() + last_silent, shape.end(), 'T'), 8) << shape;
  EXPECT_LE(std::count(shape.begin(), shape.end(), '?'), 4) << shape;  // edges of the talk

  ExpectClean({"ann"});
}

TEST_F(RecordingIt, AQueueThatNeverRecordsRefusesToAndOnDemandStartsThroughTheApi) {
  AddQueue("sales", v1::ANSWER_MODE_ANSWER_IMMEDIATELY);
  const int pa = testing::FreeUdpPort();
  AddAgent("ann", "pw", {"sales"});
  Bind("ann", pa);
  testing::ToneParty caller(kCaller), ann(kAgent);
  auto ann_phone = Phone("agent_tone.xml", pa, ann);
  auto customer = Caller("sales", caller, 4000);
  std::set<std::string> legs;
  caller.send_to(NewLegPort("customer", legs));
  ann.send_to(NewLegPort("agent", legs));
  ExpectScalarSoon("SELECT state FROM calls", "CONNECTED");
  const grpc::Status never = Record(v1::RECORDING_ACTION_START);
  EXPECT_EQ(never.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(never.error_message().find("never records"), std::string::npos)
      << never.error_message();
  Policy("sales", v1::RecordingPolicy::MODE_ON_DEMAND, 0);
  ASSERT_TRUE(Record(v1::RECORDING_ACTION_START).ok());
  ExpectScalarSoon("SELECT path LIKE 'kept/%' FROM recordings", "t");
  EXPECT_EQ(Record(v1::RECORDING_ACTION_START).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(customer->wait(seconds(30)), 0) << customer->output();
  EXPECT_EQ(ann_phone->wait(seconds(10)), 0) << ann_phone->output();
  ExpectScalarSoon("SELECT ended_at IS NOT NULL FROM recordings", "t");
  const std::string path = Scalar("SELECT path FROM recordings");
  ASSERT_TRUE(std::filesystem::exists(recordings_ + "/" + path));
  // Fetched through the relay's API with ccctl: the same bytes. A path outside the
  // recording directory, or one that is not there, is refused.
  auto ccctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--server", stack_->relay().target()});
    return testing::RunCommand(
        CC_CCCTL_BIN, args,
        {{"CC_ENV_FILE", "/nonexistent"}, {"CC_API_TOKEN_FILE", testing::ApiTokens().admin_file}});
  };
  const std::string copy = recordings_ + "-copy.wav";
  auto fetched = ccctl({"relay", "recording", path, "--out", copy});
  ASSERT_EQ(fetched.exit_code, 0) << fetched.output << fetched.errors;
  auto slurp = [](const std::string& f) {
    std::ifstream in(f, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  };
  EXPECT_EQ(slurp(copy), slurp(recordings_ + "/" + path));
  EXPECT_GT(slurp(copy).size(), 44u);
  std::filesystem::remove(copy);
  auto outside = ccctl({"relay", "recording", "../../etc/passwd", "--out", copy});
  EXPECT_EQ(outside.exit_code, 1);
  EXPECT_NE(outside.errors.find("INVALID_ARGUMENT"), std::string::npos) << outside.errors;
  auto missing = ccctl({"relay", "recording", "kept/nope.wav", "--out", copy});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.errors.find("NOT_FOUND"), std::string::npos) << missing.errors;
  EXPECT_FALSE(std::filesystem::exists(copy));
  ExpectClean({"ann"});
}

}  // namespace
}  // namespace cc
