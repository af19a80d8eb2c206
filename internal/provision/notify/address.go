package notify

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
)

// MaxAddressLength is the longest address a path of SMTP carries (RFC
// 5321 §4.5.3.1.3: a path is at most 256 octets with its angle brackets).
const MaxAddressLength = 254

// ParseAddress reads one notification address as RFC 5322 writes it
// ("ops@example.com" or "Ops <ops@example.com>"), as net/mail parses it.
// It refuses a list of addresses and an address longer than
// SMTP carries, so that every address a job document holds can be sent
// to.
func ParseAddress(s string) (*mail.Address, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("empty address")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("address %q: %w", s, err)
	}
	if len(a.Address) > MaxAddressLength {
		return nil, fmt.Errorf("address %q: longer than %d characters", s, MaxAddressLength)
	}
	at := strings.LastIndexByte(a.Address, '@')
	if at <= 0 || at == len(a.Address)-1 {
		return nil, fmt.Errorf("address %q: needs a local part and a domain", s)
	}
	// SMTP's MAIL and RCPT commands carry the address as it is; a space or
	// a control character in a quoted local part would break the command.
	if strings.ContainsFunc(a.Address, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, fmt.Errorf("address %q: has a space or a control character", s)
	}
	return a, nil
}
