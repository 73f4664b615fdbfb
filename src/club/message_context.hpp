#pragma once

#include <string>

#include "store/records.hpp"

namespace hush::club {

// Associated data that binds a sealed body to its row. Version 1 (envelope::version_1, bodies
// sealed before hush bound the metadata) binds the message id alone; version 2 binds the id, the
// author, the time and the format (and the expiry and read limit, when set), each in a fixed or
// length-prefixed field, so that no two rows share an encoding. New bodies are sealed with version
// 2; re-sealing old ones belongs with the rotation of data keys.
std::string message_context(store::message_id id);
std::string message_context(const store::message_summary& row);
// The context a stored row's body was sealed with: version 1's or version 2's, as its envelope
// says.
std::string message_context(const store::message_record& row);
// The context a stored row's body is sealed with from now on (version 2, its life included):
// what a re-seal under a new data key binds, whatever the old body's version.
std::string sealing_context(const store::message_record& row);

}  // namespace hush::club
