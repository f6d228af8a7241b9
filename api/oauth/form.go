package oauth

import (
	"mime"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/domain/oauth"
)

// maxFormBody caps the body of the token, introspection and revocation endpoints.
const maxFormBody = 16 << 10

// form is a parsed application/x-www-form-urlencoded body in which every parameter appears
// at most once (RFC 6749 §3.2: "parameters MUST NOT be included more than once").
type form map[string]string

// parseForm reads the request body as a form. Values are copied out of fasthttp's buffers.
func parseForm(c *fiber.Ctx) (form, error) {
	if c.Method() != fiber.MethodPost {
		c.Set(fiber.HeaderAllow, fiber.MethodPost)
		return nil, oauth.ErrInvalidRequest.WithDescription("use POST").WithStatus(fiber.StatusMethodNotAllowed)
	}
	return parseFormBody(string(c.Request().Header.ContentType()), string(c.Body()), len(c.Request().URI().QueryString()) > 0)
}

// parseFormBody is parseForm's pure part: content type, size, syntax, no repeats, and no
// parameters in the URL.
func parseFormBody(contentType, body string, hasQuery bool) (form, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, oauth.ErrInvalidRequest.WithDescription("the body must be application/x-www-form-urlencoded")
	}
	if len(body) > maxFormBody {
		return nil, oauth.ErrInvalidRequest.WithDescription("the body is larger than %d bytes", maxFormBody)
	}
	values, err := url.ParseQuery(body)
	if err != nil {
		return nil, oauth.ErrInvalidRequest.WithDescription("the body is not a valid form")
	}
	if hasQuery {
		return nil, oauth.ErrInvalidRequest.WithDescription("parameters belong in the body, not the URL")
	}
	f := make(form, len(values))
	for k, vs := range values {
		if k == "resource" { // RFC 8707: may repeat; each an absolute URI without spaces
			for _, v := range vs {
				if u, err := url.Parse(v); err != nil || !u.IsAbs() || u.Fragment != "" || strings.ContainsAny(v, " \t\r\n") {
					return nil, oauth.ErrInvalidTarget.WithDescription("resource must be an absolute URI without a fragment")
				}
			}
			f[k] = strings.Join(vs, " ")
			continue
		}
		if len(vs) > 1 {
			return nil, oauth.ErrInvalidRequest.WithDescription("parameter %q is repeated", truncate(k, 40))
		}
		f[k] = vs[0]
	}
	return f, nil
}

// require returns a parameter that must be present and non-empty.
func (f form) require(name string) (string, error) {
	v := f[name]
	if v == "" {
		return "", oauth.ErrInvalidRequest.WithDescription("missing parameter %q", name)
	}
	return v, nil
}

// resources are the resource parameters of a request (RFC 8707 allows several).
func (f form) resources() []string {
	if f["resource"] == "" {
		return nil
	}
	return strings.Split(f["resource"], " ")
}

func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
