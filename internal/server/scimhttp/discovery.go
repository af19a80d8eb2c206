package scimhttp

import (
	"net/http"
	"strings"

	"github.com/rosterhq/roster/internal/directory"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/scim/scimerr"
)

type supported struct {
	Supported bool `json:"supported"`
}

type bulkConfig struct {
	Supported      bool `json:"supported"`
	MaxOperations  int  `json:"maxOperations"`
	MaxPayloadSize int  `json:"maxPayloadSize"`
}

type filterConfig struct {
	Supported  bool `json:"supported"`
	MaxResults int  `json:"maxResults"`
}

type authScheme struct {
	Type        string `json:"type"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Primary     bool   `json:"primary"`
}

type metaDoc struct {
	ResourceType string `json:"resourceType"`
	Location     string `json:"location"`
}

// serviceProviderConfig describes what this server supports, per RFC 7643 §5.
func (h *Handler) serviceProviderConfig(r *request) any {
	return struct {
		Schemas               []string     `json:"schemas"`
		DocumentationURI      string       `json:"documentationUri"`
		Patch                 supported    `json:"patch"`
		Bulk                  bulkConfig   `json:"bulk"`
		Filter                filterConfig `json:"filter"`
		ChangePassword        supported    `json:"changePassword"`
		Sort                  supported    `json:"sort"`
		ETag                  supported    `json:"etag"`
		AuthenticationSchemes []authScheme `json:"authenticationSchemes"`
		Meta                  metaDoc      `json:"meta"`
	}{
		Schemas:          []string{schema.SPConfigURN},
		DocumentationURI: "https://github.com/rosterhq/roster#readme",
		Patch:            supported{true},
		Bulk:             bulkConfig{true, MaxBulkOperations, MaxBulkPayload},
		Filter:           filterConfig{true, directory.MaxPageSize},
		ChangePassword:   supported{true},
		Sort:             supported{true},
		ETag:             supported{true},
		AuthenticationSchemes: []authScheme{{
			Type: "oauthbearertoken", Name: "OAuth Bearer Token", Primary: true,
			Description: "Authentication with the tenant's Secret Token in an Authorization: Bearer header.",
		}},
		Meta: metaDoc{ResourceType: "ServiceProviderConfig", Location: r.baseURL + "/ServiceProviderConfig"},
	}
}

type schemaDoc struct {
	Schemas []string `json:"schemas"`
	*schema.Schema
	Meta metaDoc `json:"meta"`
}

func (h *Handler) schemaDoc(r *request, s *schema.Schema) schemaDoc {
	return schemaDoc{
		Schemas: []string{schema.SchemaURN}, Schema: s,
		Meta: metaDoc{ResourceType: "Schema", Location: r.baseURL + "/Schemas/" + s.ID},
	}
}

// schemas serves /Schemas and /Schemas/{id}, per RFC 7644 §4.
func (h *Handler) schemas(w http.ResponseWriter, r *request, segs []string) error {
	switch len(segs) {
	case 0:
		var docs []any
		for _, s := range h.reg.Schemas() {
			docs = append(docs, h.schemaDoc(r, s))
		}
		return writeJSON(w, http.StatusOK, listOf(docs))
	case 1:
		if s := h.reg.Schema(segs[0]); s != nil {
			return writeJSON(w, http.StatusOK, h.schemaDoc(r, s))
		}
	}
	return scimerr.NotFound("no schema %q", strings.Join(segs, "/"))
}

type extensionDoc struct {
	Schema   string `json:"schema"`
	Required bool   `json:"required"`
}

type resourceTypeDoc struct {
	Schemas          []string       `json:"schemas"`
	ID               string         `json:"id"`
	Name             string         `json:"name"`
	Endpoint         string         `json:"endpoint"`
	Description      string         `json:"description"`
	Schema           string         `json:"schema"`
	SchemaExtensions []extensionDoc `json:"schemaExtensions,omitempty"`
	Meta             metaDoc        `json:"meta"`
}

func (h *Handler) resourceTypeDoc(r *request, rt *schema.ResourceType) resourceTypeDoc {
	d := resourceTypeDoc{
		Schemas: []string{schema.ResourceTypeURN}, ID: rt.ID, Name: rt.Name,
		Endpoint: rt.Endpoint, Description: rt.Description, Schema: rt.Schema.ID,
		Meta: metaDoc{ResourceType: "ResourceType", Location: r.baseURL + "/ResourceTypes/" + rt.ID},
	}
	for _, e := range rt.Extensions {
		d.SchemaExtensions = append(d.SchemaExtensions, extensionDoc{e.Schema.ID, e.Required})
	}
	return d
}

// resourceTypes serves /ResourceTypes and /ResourceTypes/{id}, per RFC 7644 §4.
func (h *Handler) resourceTypes(w http.ResponseWriter, r *request, segs []string) error {
	switch len(segs) {
	case 0:
		var docs []any
		for _, rt := range h.reg.ResourceTypes() {
			docs = append(docs, h.resourceTypeDoc(r, rt))
		}
		return writeJSON(w, http.StatusOK, listOf(docs))
	case 1:
		if rt := h.reg.ResourceType(segs[0]); rt != nil {
			return writeJSON(w, http.StatusOK, h.resourceTypeDoc(r, rt))
		}
	}
	return scimerr.NotFound("no resource type %q", strings.Join(segs, "/"))
}

type listDoc struct {
	Schemas      []string `json:"schemas"`
	TotalResults int      `json:"totalResults"`
	StartIndex   int      `json:"startIndex"`
	ItemsPerPage int      `json:"itemsPerPage"`
	Resources    []any    `json:"Resources"`
}

func listOf(docs []any) listDoc {
	if docs == nil {
		docs = []any{}
	}
	return listDoc{
		Schemas: []string{schema.ListResponseURN}, TotalResults: len(docs),
		StartIndex: 1, ItemsPerPage: len(docs), Resources: docs,
	}
}
