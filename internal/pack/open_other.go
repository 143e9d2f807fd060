//go:build !unix

package pack

import "os"

const openFlags = os.O_RDONLY
