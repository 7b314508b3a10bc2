package tcp

import "os"

func mkdirShort() (string, error) { return os.MkdirTemp("", "jstp") }

func removeAll(dir string) { os.RemoveAll(dir) }
