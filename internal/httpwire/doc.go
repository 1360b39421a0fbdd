// Package httpwire is HTTP/1.1 on the wire, for the paths where net/http's
// generality costs more than the work itself:
//
//   - Response parses responses incrementally, for the lean clients of the
//     load generator and of the hosting gateway: bytes are fed as they
//     arrive, from a blocking or a non-blocking connection, and only what
//     the caller asks for is kept;
//   - Server serves the plain keep-alive requests API clients send, and
//     hands any other connection to the net/http server it wraps;
//   - Socket reads and writes a connection's non-blocking socket with raw
//     system calls, for both.
package httpwire
