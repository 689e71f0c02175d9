package sandbox

// archModeCalls are the mode-setting calls only some architectures have;
// arm64 has only the *at forms.
var archModeCalls []modeCall
