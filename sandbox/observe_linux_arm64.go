package sandbox

// archCalls is empty on arm64: it has only the *at forms, which
// tracedCalls lists for every architecture.
var archCalls = map[uint32]callSpec{}
