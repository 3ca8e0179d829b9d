package gitbranch

// ShortCommit is the first 12 characters of a commit hash, for messages.
func ShortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}
