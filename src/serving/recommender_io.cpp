// Recommender model files and event log (see recommender.hpp): save() writes the serving
// snapshot into a model_file.hpp container, load() restores one into a fresh Recommender, and
// open_event_log() replays a durable log into profiles and kept events.
//
// Sections (format 1 of the "tailor.recommender" layout, inside the container's own versioning):
//   recommender        JSON: layout version, trained_log_sequence, newest_event, flags, and
//                      "ranker": the blend learned at retrain (RecommenderOptions::blend)
//   catalog            Catalog
//   users, weights     training actors and their net event weights (sparse)
//   history_users, history   every actor's touched items (sparse)
//   als.*              ALSFactorizer (encoding.hpp write_als)
//   counts, popularity, trending     per-item arrays
//   neighbors, bought_together       ItemNeighbors
//   ease               EASE weights, items x items (when fitted)
//   content.vectors, content.cold, content.encoder, content.bridge   (optional, when fitted)
//   profiles           (optional) every shopper's newest events the models were trained on
//                      (profile_events per shopper, the ranker's "recent" signal), so a
//                      restart without an event log serves as the process that saved it
//   ann                the ANN index state; its hnswlib graph bytes reach hnswlib only after the
//                      container verified this section's CRC (AnnIndex::from_state checks them
//                      again against the stored vectors)
// Erased actors still present in the serving snapshot are written as "erased:<n>" with zeroed
// factor, weight and history rows, so a file saved after erase_user holds no trace of the ID.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <shared_mutex>
#include <limits>
#include <unordered_set>

#include "serving/recommender_state.hpp"
#include "tailor/serving/options_json.hpp"
#include "tailor/core/error.hpp"
#include "persistence/model_container.hpp"
#include "persistence/encoding.hpp"

namespace tailor {

namespace {
using detail::kErasedActorPrefix;

constexpr int kLayoutVersion = 1;

// `ids` with every erased actor renamed "erased:<n>", and the indices of the renamed rows.
IdMap scrub_ids(const IdMap& ids, const std::unordered_set<std::string>& erased,
                std::vector<Index>& scrubbed) {
  IdMap out;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const std::string& id = ids.id(static_cast<Index>(i));
    if (erased.count(id)) {
      out.insert(std::string(kErasedActorPrefix) + std::to_string(scrubbed.size()));
      scrubbed.push_back(static_cast<Index>(i));
    } else {
      out.insert(id);
    }
  }
  return out;
}

SparseMatrix zero_rows(SparseMatrix m, const std::vector<Index>& rows) {
  for (Index r : rows) {
    for (SparseMatrix::InnerIterator it(m, static_cast<Eigen::Index>(r)); it; ++it) it.valueRef() = 0.0f;
  }
  m.prune(0.0f, 0.0f);
  return m;
}

template <class T>
T read_or_corrupt(ModelReader& reader, std::string_view tag) {
  return read_section<T>(reader, tag);
}

// Every section decoded on its own; here they must agree with the catalog and with each other
// before anything is served (a file whose checksums are valid may still be crafted). Throws
// Error(corrupt_file) naming the sections that disagree.
void check_agreement(const ModelParts& parts, const RowMatrix* content, const RowMatrix* cold,
                     std::size_t n_items, const std::string& path) {
  auto check = [&](bool ok, const std::string& what) {
    if (!ok) TAILOR_THROW(corrupt_file, path << ": " << what << " (catalog has " << n_items << " items)");
  };
  const auto factors = static_cast<std::size_t>(parts.als.options().factors);
  check(static_cast<std::size_t>(parts.weights.rows()) == parts.users.size() &&
            static_cast<std::size_t>(parts.weights.cols()) <= n_items,
        "section 'weights' does not match 'users'");
  check(static_cast<std::size_t>(parts.history.rows()) == parts.history_users.size() &&
            static_cast<std::size_t>(parts.history.cols()) <= n_items,
        "section 'history' does not match 'history_users'");
  check(static_cast<std::size_t>(parts.als.users()) == parts.users.size() &&
            static_cast<std::size_t>(parts.als.items()) <= n_items,
        "ALS factors do not match 'users' and the catalog");
  check(parts.counts.size() <= n_items && parts.popularity.size() <= n_items &&
            parts.trending.size() <= n_items,
        "per-item arrays longer than the catalog");
  check(std::all_of(parts.popularity.begin(), parts.popularity.end(), [](float v) { return v >= 0.0f; }) &&
            std::all_of(parts.trending.begin(), parts.trending.end(), [](float v) { return v >= 0.0f; }),
        "sections 'popularity' and 'trending' must not be negative");
  check(parts.neighbors.n_items() <= n_items && parts.bought_together.n_items() <= n_items,
        "neighbour lists longer than the catalog");
  if (content != nullptr) {
    check(static_cast<std::size_t>(content->rows()) <= n_items &&
              static_cast<std::size_t>(content->cols()) == parts.encoder.dimension(),
          "section 'content.vectors' does not match the encoder");
  }
  if (cold != nullptr) {
    check(content != nullptr && cold->rows() == content->rows() &&
              static_cast<std::size_t>(cold->cols()) == factors,
          "section 'content.cold' does not match the content vectors and the ALS factors");
    check(parts.bridge.fitted() && parts.bridge.content_dimension() == static_cast<std::size_t>(content->cols()) &&
              parts.bridge.factor_dimension() == factors,
          "section 'content.bridge' does not map the content vectors onto the ALS factors");
  }
  check(parts.ann != nullptr && parts.ann->dim() == factors,
        "section 'ann' has dimension " + std::to_string(parts.ann ? parts.ann->dim() : 0) +
            ", the ALS factors " + std::to_string(factors));
  check(parts.ann->id_bound() <= n_items, "section 'ann' holds items beyond the catalog");
}
// One saved profile: the actor and its trained events, oldest first.
struct SavedProfile {
  std::string actor;
  std::vector<detail::ProfileEvent> events;
};

void encode_profiles(ByteWriter& w, const std::vector<SavedProfile>& profiles) {
  w.u64(profiles.size());
  for (const auto& p : profiles) {
    w.string(p.actor);
    w.u32(static_cast<std::uint32_t>(p.events.size()));
    for (const auto& e : p.events) {
      w.u32(e.item);
      w.u16(static_cast<std::uint16_t>(e.type));
      w.i64(e.timestamp);
      w.f32(e.weight);
    }
  }
}

// Reads the "profiles" section, refusing what the serving path could not use: items outside
// the catalog, unknown event types, non-finite weights, over-long IDs, more events than the
// section can hold. Keeps the newest `keep` events of each shopper.
std::vector<SavedProfile> decode_profiles(ByteReader r, std::size_t n_items, std::size_t keep,
                                          const std::string& path) {
  auto bad = [&](const std::string& what) {
    TAILOR_THROW(corrupt_file, path << ": section 'profiles', offset " << r.offset() << ": " << what);
  };
  constexpr std::size_t kEventBytes = 4 + 2 + 8 + 4;
  const std::uint64_t n = r.u64();
  if (n > r.remaining() / 8) bad(std::to_string(n) + " profiles cannot fit in the section");
  std::vector<SavedProfile> out(static_cast<std::size_t>(n));
  std::unordered_set<std::string> actors;
  for (auto& p : out) {
    p.actor = std::string(r.string());
    if (p.actor.empty() || p.actor.size() > kMaxIdBytes) bad("a shopper ID is empty or too long");
    if (!actors.insert(p.actor).second) bad("shopper listed twice");
    const std::uint32_t m = r.u32();
    if (m > r.remaining() / kEventBytes) bad(std::to_string(m) + " events cannot fit in the section");
    p.events.resize(m);
    for (auto& e : p.events) {
      e.item = r.u32();
      const std::uint16_t type = r.u16();
      e.timestamp = r.i64();
      e.weight = r.f32();
      if (e.item >= n_items) bad("item index " + std::to_string(e.item) + " is outside the catalog");
      if (type > static_cast<std::uint16_t>(EventType::return_) && type < kFirstCustomEventType) bad("unknown event type code " + std::to_string(type));
      if (!std::isfinite(e.weight)) bad("a weight is not finite");
      e.type = static_cast<EventType>(type);
    }
    if (p.events.size() > keep) p.events.erase(p.events.begin(), p.events.end() - static_cast<std::ptrdiff_t>(keep));
  }
  r.expect_end();
  return out;
}

}  // namespace

void Recommender::save(const std::string& path) const {
  const auto snap = core_->load_snapshot();
  if (!snap->parts) TAILOR_THROW(not_fitted, "Recommender::save: '" << path << "': no model yet");
  const ModelParts& parts = *snap->parts;
  std::unordered_set<std::string> erased;
  {
    std::lock_guard<std::mutex> lock(core_->erased_mutex);
    for (const auto& [actor, when] : core_->erased) erased.insert(actor);
  }
  ModelWriter w;
  w.metadata()["model_version"] = snap->version;
  w.metadata()["options"] = options_to_json(options_);
  w.metadata()["counts"] = {{"items", snap->catalog->size()},
                            {"users", parts.users.size()},
                            {"model_items", static_cast<std::size_t>(parts.als.item_factors().rows())},
                            {"trained_events", snap->trained_events}};
  // Where the model's history is: the event-log record it was trained through (0: trained
  // without a log, so no log holds its events). Hosts read it with inspect_model_file.
  w.metadata()["trained_log_sequence"] = snap->trained_log_sequence;
  if (options_.pseudonymize) w.metadata()["pseudonym_key_version"] = options_.pseudonymize->key_version;
  nlohmann::json state = {{"layout", kLayoutVersion},
                          {"trained_log_sequence", snap->trained_log_sequence},
                          {"newest_event", parts.newest_event},
                          {"trained_at", snap->trained_at},
                          {"trained_events", snap->trained_events},
                          {"content", static_cast<bool>(snap->content)},
                          {"bridge", parts.bridge.fitted()}};
  if (parts.ranker) state["ranker"] = ranker_options_to_json(*parts.ranker);
  write_section(w, "recommender", state);
  write_section(w, "catalog", *snap->catalog);

  std::vector<Index> scrubbed_users, scrubbed_history;
  const IdMap users = scrub_ids(parts.users, erased, scrubbed_users);
  const IdMap history_users = scrub_ids(parts.history_users, erased, scrubbed_history);
  write_section(w, "users", users);
  write_section(w, "weights", zero_rows(parts.weights, scrubbed_users));
  write_section(w, "history_users", history_users);
  write_section(w, "history", zero_rows(parts.history, scrubbed_history));
  {
    ALSState als = parts.als.export_state();
    for (Index u : scrubbed_users) als.user_factors.row(static_cast<Eigen::Index>(u)).setZero();
    write_als(w, als, "als");
  }
  write_section(w, "counts", parts.counts);
  write_section(w, "popularity", parts.popularity);
  write_section(w, "trending", parts.trending);
  write_section(w, "neighbors", parts.neighbors);
  write_section(w, "bought_together", parts.bought_together);
  if (parts.ease.fitted()) write_section(w, "ease", parts.ease.weights());
  if (snap->content && parts.encoder.fitted()) {
    write_section(w, "content.vectors", *snap->content);
    write_section(w, "content.encoder", parts.encoder.export_state());
  }
  if (snap->cold_factors && parts.bridge.fitted()) {
    write_section(w, "content.cold", *snap->cold_factors);
    write_section(w, "content.bridge", parts.bridge.export_state());
  }
  {
    std::vector<SavedProfile> profiles;
    for (const auto& shard : core_->shards) {
      std::shared_lock<std::shared_mutex> lock(shard->mutex);
      for (const auto& [actor, profile] : shard->profiles) {
        if (erased.count(actor) != 0) continue;
        SavedProfile saved{actor, {}};
        for (const auto& e : profile.events) {
          if (e.seq < snap->trained_through && e.item < snap->catalog->size()) saved.events.push_back(e);
        }
        if (!saved.events.empty()) profiles.push_back(std::move(saved));
      }
    }
    std::sort(profiles.begin(), profiles.end(),
              [](const SavedProfile& a, const SavedProfile& b) { return a.actor < b.actor; });
    encode_profiles(w.add_section("profiles", SectionPolicy::optional), profiles);
  }
  write_section(w, "ann", parts.ann->export_state(true));
  w.save(path);
}

void Recommender::load(const std::string& path) {
  {
    const auto current = core_->load_snapshot();
    TAILOR_REQUIRE(!current->parts && core_->load_catalog()->empty() && core_->next_seq.load() == 0,
                   "Recommender::load: '" << path
                       << "': load into a fresh Recommender (no items, events or model yet)");
  }
  ModelReader reader = ModelReader::open(path);
  const nlohmann::json state = read_or_corrupt<nlohmann::json>(reader, "recommender");
  auto field = [&](const char* key) -> const nlohmann::json& {
    if (!state.is_object() || !state.contains(key)) {
      TAILOR_THROW(corrupt_file, path << ": section 'recommender': missing field '" << key << "'");
    }
    return state.at(key);
  };
  if (!field("layout").is_number_integer() || field("layout").get<int>() != kLayoutVersion) {
    TAILOR_THROW(unsupported_version, path << ": section 'recommender': layout " << field("layout").dump()
                                           << " (this build reads " << kLayoutVersion << ")");
  }
  auto catalog = std::make_shared<Catalog>(read_or_corrupt<Catalog>(reader, "catalog"));
  const std::size_t n_items = catalog->size();
  auto parts = std::make_shared<ModelParts>();
  try {
    parts->newest_event = field("newest_event").get<Timestamp>();
    parts->users = read_or_corrupt<IdMap>(reader, "users");
    parts->weights = read_or_corrupt<SparseMatrix>(reader, "weights");
    parts->history_users = read_or_corrupt<IdMap>(reader, "history_users");
    parts->history = read_or_corrupt<SparseMatrix>(reader, "history");
    parts->als = read_als(reader, "als");
    parts->counts = read_or_corrupt<std::vector<std::uint32_t>>(reader, "counts");
    parts->popularity = read_or_corrupt<std::vector<float>>(reader, "popularity");
    parts->trending = read_or_corrupt<std::vector<float>>(reader, "trending");
    parts->neighbors = read_or_corrupt<ItemNeighbors>(reader, "neighbors");
    parts->bought_together = read_or_corrupt<ItemNeighbors>(reader, "bought_together");
  } catch (const nlohmann::json::exception& e) {
    TAILOR_THROW(corrupt_file, path << ": section 'recommender': " << e.what());
  }
  if (pseudonymizer_) {  // a model of raw IDs (or another key's) would mix with pseudonyms
    for (const char* section : {"users", "history_users"}) {
      const IdMap& ids = section[0] == 'u' ? parts->users : parts->history_users;
      for (std::size_t i = 0; i < ids.size(); ++i) {
        const std::string& id = ids.id(static_cast<Index>(i));
        if (id.compare(0, kSessionActorPrefix.size(), kSessionActorPrefix) == 0 ||
            id.compare(0, kErasedActorPrefix.size(), kErasedActorPrefix) == 0 ||
            pseudonymizer_->looks_pseudonymized(id)) {
          continue;
        }
        TAILOR_THROW(invalid_argument,
                     path << ": section '" << section << "', entry " << i
                          << ": not a pseudonym of key version '"
                          << options_.pseudonymize->key_version
                          << "' (RecommenderOptions::pseudonymize); this model was trained "
                             "without that key and cannot be served with it");
      }
    }
  }
  if (state.contains("ranker")) {  // a blend learned at retrain
    try {
      parts->ranker = ranker_options_from_json(state.at("ranker"));
    } catch (const Error& err) {
      TAILOR_THROW(corrupt_file, path << ": section 'recommender': ranker: " << err.what());
    }
  }
  if (reader.has("ease")) {
    RowMatrix weights = read_or_corrupt<RowMatrix>(reader, "ease");
    if (static_cast<std::size_t>(weights.rows()) > n_items)
      TAILOR_THROW(corrupt_file, path << ": section 'ease' covers " << weights.rows() << " items, the catalog has "
                                      << n_items);
    try {
      parts->ease = EaseModel::from_weights(std::move(weights));
    } catch (const Error& err) {
      TAILOR_THROW(corrupt_file, path << ": section 'ease': " << err.what());
    }
  }
  std::shared_ptr<const RowMatrix> content, cold;
  if (reader.has("content.vectors")) {
    content = std::make_shared<RowMatrix>(read_or_corrupt<RowMatrix>(reader, "content.vectors"));
    ContentEncoderState es = read_or_corrupt<ContentEncoderState>(reader, "content.encoder");
    es.options = options_.content;
    try {
      parts->encoder = ContentEncoder::from_state(std::move(es));
    } catch (const Error& err) {
      TAILOR_THROW(corrupt_file, path << ": section 'content.encoder' does not fit the configured "
                                         "content options: " << err.what());
    }
  }
  if (reader.has("content.cold")) {
    cold = std::make_shared<RowMatrix>(read_or_corrupt<RowMatrix>(reader, "content.cold"));
    ContentBridgeState bs = read_or_corrupt<ContentBridgeState>(reader, "content.bridge");
    bs.options = options_.bridge;
    try {
      parts->bridge = ContentBridge::from_state(std::move(bs));
    } catch (const Error& err) {
      TAILOR_THROW(corrupt_file, path << ": section 'content.bridge': " << err.what());
    }
  }
  {
    AnnIndexState ann = read_or_corrupt<AnnIndexState>(reader, "ann");
    ann.options = options_.ann;
    try {
      parts->ann = std::shared_ptr<AnnIndex>(AnnIndex::from_state(std::move(ann)));
    } catch (const Error& err) {
      TAILOR_THROW(corrupt_file, path << ": section 'ann': " << err.what());
    }
  }
  check_agreement(*parts, content.get(), cold.get(), n_items, path);
  std::vector<SavedProfile> profiles;
  if (reader.has("profiles")) {
    profiles = decode_profiles(reader.section("profiles"), n_items, options_.profile_events, path);
    for (const auto& p : profiles) {
      if (!pseudonymizer_ || p.actor.compare(0, kSessionActorPrefix.size(), kSessionActorPrefix) == 0 ||
          pseudonymizer_->looks_pseudonymized(p.actor)) {
        continue;
      }
      TAILOR_THROW(invalid_argument, path << ": section 'profiles': a shopper ID is not a pseudonym of key version '"
                                          << options_.pseudonymize->key_version
                                          << "' (RecommenderOptions::pseudonymize)");
    }
  }
  reader.finish();
  if (content) parts->content_ann = std::make_shared<AnnIndex>(content, options_.ann);

  std::lock_guard<std::mutex> catalog_lock(core_->catalog_mutex);
  std::lock_guard<std::mutex> publish_lock(core_->publish_mutex);
  std::shared_ptr<const Catalog> published = std::move(catalog);
  std::shared_ptr<ModelSnapshot> snap;
  try {
    snap = make_snapshot(options_, std::move(parts), published, content, cold, 0);
  } catch (const Error& err) {
    TAILOR_THROW(corrupt_file, path << ": the stored models do not fit together: " << err.what());
  }
  try {
    snap->trained_log_sequence = field("trained_log_sequence").get<std::uint64_t>();
    snap->trained_at = state.value("trained_at", Timestamp{0});
    snap->trained_events = state.value("trained_events", std::uint64_t{0});
  } catch (const nlohmann::json::exception& e) {
    TAILOR_THROW(corrupt_file, path << ": section 'recommender': " << e.what());
  }
  // Restored profile events carry sequence 0 and the snapshot counts them as trained on
  // (trained_through 1); the next ingested event gets sequence 1.
  for (auto& p : profiles) {
    Profile& profile = core_->shard_of(p.actor).profiles[p.actor];
    profile.events.assign(p.events.begin(), p.events.end());
    profile.version = 1;
  }
  if (!profiles.empty()) {
    snap->trained_through = 1;
    core_->next_seq.store(1);
    core_->restored_profiles = true;
  }
  snap->version = ++core_->version;
  std::atomic_store(&core_->catalog, published);
  std::atomic_store(&core_->snapshot, std::shared_ptr<const ModelSnapshot>(std::move(snap)));
}

LogRecovery Recommender::open_event_log(const std::string& path, const EventLogOptions& options) {
  TAILOR_REQUIRE(!core_->log && core_->next_seq.load() == (core_->restored_profiles ? 1u : 0u),
                 "Recommender::open_event_log: '" << path
                     << "': open the log once, before any event is ingested");
  auto log = std::make_unique<EventLog>(path, options);
  const auto snap = core_->load_snapshot();
  const std::uint64_t trained_log = snap->trained_log_sequence;
  // Tombstones newer than the model: those actors are in the model but must not be served.
  std::vector<std::string> erased_after_model;
  std::unordered_set<std::string> digests_after_model;
  std::vector<Event> events;
  std::vector<std::uint64_t> sequences;
  log->replay([&](const LogRecord& r) {
    if (r.sequence <= trained_log) return;
    if (r.type == LogRecordType::erase_user) erased_after_model.push_back(r.event.user);
    if (r.type == LogRecordType::erase_digest) digests_after_model.insert(r.actor_digest);
  });
  if (!digests_after_model.empty() && snap->parts) {
    // A compacted log names erased actors by digest: find them among the model's actors.
    for (const IdMap* ids : {&snap->parts->users, &snap->parts->history_users}) {
      for (std::size_t i = 0; i < ids->size(); ++i) {
        const std::string& id = ids->id(static_cast<Index>(i));
        if (digests_after_model.count(actor_digest(id)) != 0) erased_after_model.push_back(id);
      }
    }
  }
  log->replay_surviving([&](const LogRecord& r) {
    events.push_back(r.event);
    sequences.push_back(r.sequence);
  });
  // Replayed events were valid when appended, but the options may have changed since, or the
  // log may come from another writer: an event this Recommender would refuse now is not applied
  // (it would poison every retrain), and the recovery report counts and names it. One bad
  // record never blocks the rest.
  LogRecovery recovery = log->recovery();
  {
    std::size_t kept = 0;
    for (std::size_t i = 0; i < events.size(); ++i) {
      try {
        detail::check_event(events[i], options_.matrix.weights, "Recommender::open_event_log",
                            i, false);
        TAILOR_REQUIRE(!pseudonymizer_ || events[i].user.empty() ||
                           pseudonymizer_->looks_pseudonymized(events[i].user),
                       "field 'user': not a pseudonym of key version '"
                           << options_.pseudonymize->key_version
                           << "' (RecommenderOptions::pseudonymize)");
      } catch (const Error& e) {
        if (recovery.skipped_events++ < 5) {
          if (!recovery.skipped_detail.empty()) recovery.skipped_detail += "; ";
          recovery.skipped_detail +=
              path + ": record " + std::to_string(sequences[i]) + ": " + e.what();
        }
        continue;
      }
      if (kept != i) {  // (a self-move would leave the event empty)
        events[kept] = std::move(events[i]);
        sequences[kept] = sequences[i];
      }
      ++kept;
    }
    events.resize(kept);
    sequences.resize(kept);
  }
  {
    std::lock_guard<std::mutex> lock(core_->catalog_mutex);
    auto next = std::make_shared<Catalog>(*core_->load_catalog());
    for (const auto& e : events) {
      if (!e.item.empty() && !next->contains(e.item)) {
        CatalogItem bare;
        bare.id = e.item;
        next->upsert(std::move(bare));
      }
    }
    std::atomic_store(&core_->catalog, std::shared_ptr<const Catalog>(std::move(next)));
  }
  const auto catalog = core_->load_catalog();
  std::uint64_t trained_through = core_->restored_profiles ? 1 : 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    // Events the model was trained on are already in the restored profiles.
    const bool trained = sequences[i] <= trained_log;
    apply_event(events[i], *catalog, sequences[i], !(trained && core_->restored_profiles));
    if (trained) trained_through = core_->next_seq.load();
  }
  {
    std::lock_guard<std::mutex> lock(core_->erased_mutex);
    for (const auto& actor : erased_after_model) core_->erased[actor] = 0;
  }
  for (const auto& actor : erased_after_model) {  // their restored profiles go too
    Shard& shard = core_->shard_of(actor);
    std::unique_lock<std::shared_mutex> lock(shard.mutex);
    shard.profiles.erase(actor);
  }
  core_->log = std::move(log);
  if (snap->parts) {  // the model now knows which replayed events it was trained on
    std::lock_guard<std::mutex> publish_lock(core_->publish_mutex);
    const auto current = core_->load_snapshot();
    auto next = make_snapshot(options_, current->parts, core_->load_catalog(),
                                      current->content, current->cold_factors, trained_through);
    next->trained_log_sequence = current->trained_log_sequence;
    next->version = ++core_->version;
    std::atomic_store(&core_->snapshot, std::shared_ptr<const ModelSnapshot>(std::move(next)));
  }
  return recovery;
}

}  // namespace tailor
