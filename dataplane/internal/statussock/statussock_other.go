//go:build !linux

package statussock

// socketName fails: elsewhere an "@" name would be a file in the working
// directory.
func socketName(string) (string, error) { return "", ErrUnsupported }
