#include "core/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <mutex>

namespace hush::metrics {
namespace {

struct registry {
  std::mutex mutex;
  std::vector<const family*> families;
};

// Never destroyed: families made as statics in other files may unregister after it would be.
registry& the_registry() {
  static auto* r = new registry;
  return *r;
}

template <class T>
std::unique_ptr<std::atomic<T>[]> zeroed(std::size_t n) {
  auto slots = std::make_unique<std::atomic<T>[]>(n);
  for (std::size_t i = 0; i < n; ++i) {
    slots[i].store(T{}, std::memory_order_relaxed);
  }
  return slots;
}

// "name{label="value"} " or "name " (a label value is ours: a fixed word, nothing to escape).
void open_sample(std::string& out, std::string_view name, const label_set& labels, std::size_t slot,
                 std::string_view extra = {}) {
  out.append(name);
  if (!labels.name.empty() || !extra.empty()) {
    out.push_back('{');
    if (!labels.name.empty()) {
      out.append(labels.name).append("=\"").append(labels.values[slot]).push_back('"');
      if (!extra.empty()) {
        out.push_back(',');
      }
    }
    out.append(extra);
    out.push_back('}');
  }
  out.push_back(' ');
}

void add_double(std::atomic<double>& slot, double delta) noexcept {
  auto current = slot.load(std::memory_order_relaxed);
  while (!slot.compare_exchange_weak(current, current + delta, std::memory_order_relaxed)) {
  }
}

}  // namespace

std::string format_number(double value) {
  if (std::isnan(value)) {
    return "NaN";
  }
  if (std::isinf(value)) {
    return value > 0 ? "+Inf" : "-Inf";
  }
  char text[400];  // the longest fixed form of a double
  // Fixed, not scientific: "0.0005" reads better than "5e-04" in a bucket's label.
  const auto [end, ec] = std::to_chars(text, text + sizeof text, value, std::chars_format::fixed);
  return ec == std::errc() ? std::string(text, end) : "NaN";
}

family::family(std::string_view name, std::string_view help, std::string_view type)
    : name_(name), help_(help), type_(type) {
  auto& r = the_registry();
  std::lock_guard lock(r.mutex);
  r.families.push_back(this);
}

family::~family() {
  auto& r = the_registry();
  std::lock_guard lock(r.mutex);
  std::erase(r.families, this);
}

void family::render(std::string& out) const {
  out.append("# HELP ").append(name_).append(" ").append(help_).append("\n");
  out.append("# TYPE ").append(name_).append(" ").append(type_).append("\n");
  samples(out);
}

counter::counter(std::string_view name, std::string_view help, label_set labels)
    : family(name, help, "counter"),
      labels_(std::move(labels)),
      counts_(zeroed<std::uint64_t>(labels_.size())) {}

void counter::add(std::size_t slot, std::uint64_t n) noexcept {
  counts_[slot].fetch_add(n, std::memory_order_relaxed);
}

std::uint64_t counter::value(std::size_t slot) const noexcept {
  return counts_[slot].load(std::memory_order_relaxed);
}

void counter::samples(std::string& out) const {
  for (std::size_t i = 0; i < labels_.size(); ++i) {
    open_sample(out, name_, labels_, i);
    out.append(std::to_string(value(i))).push_back('\n');
  }
}

gauge::gauge(std::string_view name, std::string_view help, label_set labels)
    : family(name, help, "gauge"),
      labels_(std::move(labels)),
      values_(zeroed<double>(labels_.size())) {}

void gauge::add(double delta, std::size_t slot) noexcept {
  add_double(values_[slot], delta);
}

void gauge::set(double value, std::size_t slot) noexcept {
  values_[slot].store(value, std::memory_order_relaxed);
}

double gauge::value(std::size_t slot) const noexcept {
  return values_[slot].load(std::memory_order_relaxed);
}

void gauge::samples(std::string& out) const {
  for (std::size_t i = 0; i < labels_.size(); ++i) {
    open_sample(out, name_, labels_, i);
    out.append(format_number(value(i))).push_back('\n');
  }
}

histogram::histogram(std::string_view name, std::string_view help, std::vector<double> bounds,
                     label_set labels)
    : family(name, help, "histogram"),
      labels_(std::move(labels)),
      bounds_(std::move(bounds)),
      buckets_(zeroed<std::uint64_t>(labels_.size() * (bounds_.size() + 1))),
      sums_(zeroed<double>(labels_.size())) {}

void histogram::observe(double value, std::size_t slot) noexcept {
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  buckets_[slot * (bounds_.size() + 1) + bucket].fetch_add(1, std::memory_order_relaxed);
  add_double(sums_[slot], value);
}

std::uint64_t histogram::count(std::size_t slot) const noexcept {
  std::uint64_t total = 0;
  for (std::size_t b = 0; b <= bounds_.size(); ++b) {
    total += buckets_[slot * (bounds_.size() + 1) + b].load(std::memory_order_relaxed);
  }
  return total;
}

void histogram::samples(std::string& out) const {
  const std::string bucket_name = std::string(name_) + "_bucket";
  for (std::size_t i = 0; i < labels_.size(); ++i) {
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b <= bounds_.size(); ++b) {
      cumulative += buckets_[i * (bounds_.size() + 1) + b].load(std::memory_order_relaxed);
      const auto le = b < bounds_.size() ? format_number(bounds_[b]) : std::string("+Inf");
      open_sample(out, bucket_name, labels_, i, "le=\"" + le + "\"");
      out.append(std::to_string(cumulative)).push_back('\n');
    }
    // The sum and count as of the buckets above: a concurrent observation may land between the
    // loads, which Prometheus's rate() tolerates.
    open_sample(out, std::string(name_) + "_sum", labels_, i);
    out.append(format_number(sums_[i].load(std::memory_order_relaxed))).push_back('\n');
    open_sample(out, std::string(name_) + "_count", labels_, i);
    out.append(std::to_string(cumulative)).push_back('\n');
  }
}

status_counter::status_counter(std::string_view name, std::string_view help, label_set labels)
    : family(name, help, "counter"),
      labels_(std::move(labels)),
      counts_(zeroed<std::uint64_t>(labels_.size() * statuses)) {}

void status_counter::add(std::size_t slot, unsigned status) noexcept {
  if (status >= first_status && status < first_status + statuses) {
    counts_[slot * statuses + (status - first_status)].fetch_add(1, std::memory_order_relaxed);
  }
}

std::uint64_t status_counter::value(std::size_t slot, unsigned status) const noexcept {
  if (status < first_status || status >= first_status + statuses) {
    return 0;
  }
  return counts_[slot * statuses + (status - first_status)].load(std::memory_order_relaxed);
}

void status_counter::samples(std::string& out) const {
  for (std::size_t i = 0; i < labels_.size(); ++i) {
    for (unsigned s = 0; s < statuses; ++s) {
      const auto n = counts_[i * statuses + s].load(std::memory_order_relaxed);
      if (n != 0) {
        open_sample(out, name_, labels_, i, "status=\"" + std::to_string(first_status + s) + "\"");
        out.append(std::to_string(n)).push_back('\n');
      }
    }
  }
}

std::string render_all() {
  auto& r = the_registry();
  std::lock_guard lock(r.mutex);
  auto families = r.families;
  std::sort(families.begin(), families.end(),
            [](const family* a, const family* b) { return a->name() < b->name(); });
  std::string out;
  for (const auto* f : families) {
    f->render(out);
  }
  return out;
}

}  // namespace hush::metrics
