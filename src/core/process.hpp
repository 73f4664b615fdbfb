#pragma once

#include <string_view>

namespace hush::process {

// Makes this process undumpable (no core file, no ptrace by other users of the same uid, /proc
// files of its memory readable by root only) and sets its core-size limit to zero, so that a
// crash never writes the master key or a plaintext to disk. Call first thing in main; throws
// std::runtime_error if the kernel refuses.
void forbid_core_dumps();

// Opens /dev/null on any of descriptors 0, 1 and 2 that is closed, so that a file the process
// opens later (the database, a socket) can never become its standard output or error, and a
// child it starts never writes into one. Call first thing in main.
void ensure_standard_descriptors() noexcept;

// Keeps argv so that a secret given on the command line can be taken out of the process list
// later. Call once from main, before anything parses argv.
void remember_args(int argc, char** argv);

// Overwrites with NUL bytes every remembered argument equal to `value`, so that
// /proc/PID/cmdline (ps, top) no longer shows it. Returns true if one was found. Other users may
// still have seen it before this ran, and the shell may keep it in its history.
bool hide_arg(std::string_view value) noexcept;

}  // namespace hush::process
