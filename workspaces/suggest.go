package workspaces

// Closest returns the name of known a typo of name most likely meant (the same letters in another
// case, or within two edits), or "": the suggestion of "did you mean" messages, for the CLI too.
func Closest(name string, known []string) string { return closest(name, known) }
