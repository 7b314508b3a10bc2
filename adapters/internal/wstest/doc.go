// Package wstest is test support shared by the WebSocket adapters: a raw,
// frame-level WebSocket peer (RawPeer), a recording jstp.Receiver
// (Recorder), a fake engine standing in for jstp.Server (FakeEngine), the
// transport tests gorilla and nhooyr share (Adapter) with their SendBatch
// tests (BatchAdapter), and the builder of each adapter's
// conformance.Factory (Factory).
//
// Production code has no use for it. It lives under adapters/internal, so
// only the adapters can import it.
package wstest
