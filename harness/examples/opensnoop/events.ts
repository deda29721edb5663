// What an opensnoop printed, normalized: one OpenEvent per open it reported, whatever the tool's format.
// Fields a tool does not print are absent; the grader compares only what is there.

import type { OpenSyscall } from '../../../bpf/opensnoop/format.js';

export interface OpenEvent {
  pid: number;
  /** The calling thread, when the tool prints it. */
  tid?: number;
  comm?: string;
  /** The door, when the tool says it. */
  syscall?: OpenSyscall;
  flags?: number;
  mode?: number;
  /** The new fd, or -errno (a tool printing "FD -1, ERR 2" gives -2). */
  ret: number;
  /**
   * The path as the tool printed it: our C, BCC and ts tools escape it (format.ts: \\ and \xHH) and end a cut one
   * with "..."; tools that print its bytes raw give it here as read, a newline inside it included.
   */
  path: string;
}
