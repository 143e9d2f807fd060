package s3

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"net/http"
	"strings"
)

// checksumAlgo is one of the flexible checksums S3 accepts
// (x-amz-checksum-<name>).
type checksumAlgo struct {
	name string // as in the API: CRC32, CRC32C, CRC64NVME, SHA1, SHA256
	size int    // bytes of the raw digest
	new  func() hash.Hash
	// fullObjectOnly is the checksum type S3 uses for multipart uploads
	// of this algorithm unless told otherwise: CRC64NVME can only be
	// FULL_OBJECT, the others default to COMPOSITE.
	fullObjectOnly bool
}

// crc64NVME is the reversed NVMe CRC-64 polynomial, as hash/crc64 wants it.
const crc64NVME = 0x9a6c9329ac4bc9b5

func checksumAlgos() []checksumAlgo {
	return []checksumAlgo{
		{name: "CRC32", size: 4, new: func() hash.Hash { return crc32.NewIEEE() }},
		{name: "CRC32C", size: 4, new: func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) }},
		{name: "CRC64NVME", size: 8, new: func() hash.Hash { return crc64.New(crc64.MakeTable(crc64NVME)) }, fullObjectOnly: true},
		{name: "SHA1", size: sha1.Size, new: sha1.New},
		{name: "SHA256", size: sha256.Size, new: sha256.New},
	}
}

func findChecksumAlgo(name string) (checksumAlgo, bool) {
	for _, a := range checksumAlgos() {
		if strings.EqualFold(a.name, name) {
			return a, true
		}
	}
	return checksumAlgo{}, false
}

// header returns the canonical header carrying this checksum.
func (a checksumAlgo) header() string {
	return http.CanonicalHeaderKey("x-amz-checksum-" + strings.ToLower(a.name))
}

// validValue reports whether v is a base64 digest of the right size.
func (a checksumAlgo) validValue(v string) bool {
	b, err := base64.StdEncoding.DecodeString(v)
	return err == nil && len(b) == a.size
}

func encodeSum(h hash.Hash) string { return base64.StdEncoding.EncodeToString(h.Sum(nil)) }

// checksumFields are the checksum elements of S3's XML documents.
type checksumFields struct {
	ChecksumCRC32     string `xml:"ChecksumCRC32,omitempty"`
	ChecksumCRC32C    string `xml:"ChecksumCRC32C,omitempty"`
	ChecksumCRC64NVME string `xml:"ChecksumCRC64NVME,omitempty"`
	ChecksumSHA1      string `xml:"ChecksumSHA1,omitempty"`
	ChecksumSHA256    string `xml:"ChecksumSHA256,omitempty"`
	ChecksumType      string `xml:"ChecksumType,omitempty"`
}

func newChecksumFields(algo, typ, value string) checksumFields {
	var f checksumFields
	if value == "" {
		return f
	}
	switch algo {
	case "CRC32":
		f.ChecksumCRC32 = value
	case "CRC32C":
		f.ChecksumCRC32C = value
	case "CRC64NVME":
		f.ChecksumCRC64NVME = value
	case "SHA1":
		f.ChecksumSHA1 = value
	case "SHA256":
		f.ChecksumSHA256 = value
	default:
		return f
	}
	f.ChecksumType = typ
	return f
}

// get returns the value for algo.
func (f checksumFields) get(algo string) string {
	switch algo {
	case "CRC32":
		return f.ChecksumCRC32
	case "CRC32C":
		return f.ChecksumCRC32C
	case "CRC64NVME":
		return f.ChecksumCRC64NVME
	case "SHA1":
		return f.ChecksumSHA1
	case "SHA256":
		return f.ChecksumSHA256
	}
	return ""
}
