//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package journal

import "os"

// lockFile does nothing on this platform: there is no portable advisory
// lock in the standard library here, so two processes opening one journal
// are not detected. Do not do that.
func lockFile(*os.File) error { return nil }

// syncDir does nothing on this platform, where directories cannot be
// fsynced through the standard library.
func syncDir(string) error { return nil }
