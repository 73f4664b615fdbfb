#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hush::metrics {

// Prometheus's text exposition format (version 0.0.4), with nothing but atomics on the path that
// counts: each series is a fixed slot made when its family is, so counting never allocates, locks
// or looks a label up by its text. Families are made once, as statics of the layer that counts,
// and register themselves with the process's registry; the metrics listener renders it.
// docs/operations.md lists every series.

// One label with a fixed set of values, known when the family is made ("method" in password,
// token, session, certificate), or none.
struct label_set {
  std::string_view name;                 // empty: a family of one unlabelled series
  std::vector<std::string_view> values;  // the values, each a slot; index them in this order

  std::size_t size() const noexcept { return name.empty() ? 1 : values.size(); }
};

class family {
 public:
  family(std::string_view name, std::string_view help, std::string_view type);
  virtual ~family();
  family(const family&) = delete;
  family& operator=(const family&) = delete;

  std::string_view name() const noexcept { return name_; }
  // "# HELP", "# TYPE" and every sample, each line ending in "\n".
  void render(std::string& out) const;

 protected:
  virtual void samples(std::string& out) const = 0;
  std::string_view name_;

 private:
  std::string_view help_;
  std::string_view type_;
};

// Counts up, per label value.
class counter final : public family {
 public:
  counter(std::string_view name, std::string_view help, label_set labels = {});
  void add(std::size_t slot = 0, std::uint64_t n = 1) noexcept;
  std::uint64_t value(std::size_t slot = 0) const noexcept;

 private:
  void samples(std::string& out) const override;
  label_set labels_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
};

// Goes up and down, or is set, per label value.
class gauge final : public family {
 public:
  gauge(std::string_view name, std::string_view help, label_set labels = {});
  void add(double delta, std::size_t slot = 0) noexcept;
  void set(double value, std::size_t slot = 0) noexcept;
  double value(std::size_t slot = 0) const noexcept;

 private:
  void samples(std::string& out) const override;
  label_set labels_;
  std::unique_ptr<std::atomic<double>[]> values_;
};

// Observations in fixed buckets (upper bounds, ascending), per label value.
class histogram final : public family {
 public:
  histogram(std::string_view name, std::string_view help, std::vector<double> bounds,
            label_set labels = {});
  void observe(double value, std::size_t slot = 0) noexcept;
  std::uint64_t count(std::size_t slot = 0) const noexcept;

 private:
  void samples(std::string& out) const override;
  label_set labels_;
  std::vector<double> bounds_;
  // Per slot: one count per bound (not cumulative; summed when rendered), then +Inf's.
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::unique_ptr<std::atomic<double>[]> sums_;
};

// Counts per (label value, HTTP status): the status is the second label, 100 to 599; only
// statuses seen are rendered.
class status_counter final : public family {
 public:
  status_counter(std::string_view name, std::string_view help, label_set labels);
  void add(std::size_t slot, unsigned status) noexcept;
  std::uint64_t value(std::size_t slot, unsigned status) const noexcept;

 private:
  static constexpr unsigned first_status = 100;
  static constexpr unsigned statuses = 500;
  void samples(std::string& out) const override;
  label_set labels_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
};

// Every family the process has made, rendered in name order. Thread safe.
std::string render_all();

// A number as the text format writes it: integers without a fraction, others as the shortest
// text that reads back the same.
std::string format_number(double value);

}  // namespace hush::metrics
