package schema

// Schema URNs defined by RFC 7643 and RFC 7644.
const (
	UserURN           = "urn:ietf:params:scim:schemas:core:2.0:User"
	GroupURN          = "urn:ietf:params:scim:schemas:core:2.0:Group"
	EnterpriseUserURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	SchemaURN         = "urn:ietf:params:scim:schemas:core:2.0:Schema"
	ResourceTypeURN   = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	SPConfigURN       = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	ListResponseURN   = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	PatchOpURN        = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	SearchRequestURN  = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
	BulkRequestURN    = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
	BulkResponseURN   = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
	ErrorURN          = "urn:ietf:params:scim:api:messages:2.0:Error"

	// EntraGroupURN is the extra schema Microsoft Entra ID lists when it
	// creates a group. It defines no attributes; Roster accepts and drops it.
	EntraGroupURN = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
)

// commonAttributes are the attributes of RFC 7643 §3.1 that every resource
// has. They belong to no schema and are not listed by /Schemas, but filters,
// sorting and projection address them like any other attribute.
func commonAttributes() []*Attribute {
	return []*Attribute{
		Str("id", CaseExact, Mut(ReadOnly), Ret(ReturnedAlways), Unique(UniqueServer),
			Desc("Unique identifier for the SCIM resource as defined by the service provider.")),
		Str("externalId", CaseExact,
			Desc("Identifier for the resource as defined by the provisioning client.")),
		Cplx("meta", []*Attribute{
			Str("resourceType", CaseExact, Mut(ReadOnly)),
			Time("created", Mut(ReadOnly)),
			Time("lastModified", Mut(ReadOnly)),
			Ref("location", []string{"uri"}, CaseExact, Mut(ReadOnly)),
			Str("version", CaseExact, Mut(ReadOnly)),
		}, Mut(ReadOnly), Desc("Resource metadata.")),
	}
}

// multiValue builds the sub-attributes shared by the multi-valued attributes of
// RFC 7643 §2.4 (value, display, type, primary), with the given canonical types.
func multiValue(value *Attribute, types ...string) []*Attribute {
	return []*Attribute{
		value,
		Str("display", Desc("A human-readable name, primarily used for display purposes.")),
		Str("type", Canonical(types...), Desc("A label indicating the attribute's function.")),
		Bool("primary", Desc("A Boolean value indicating the 'primary' or preferred attribute value for this attribute.")),
	}
}

// UserSchema returns the core User schema of RFC 7643 §4.1 and §8.7.1.
func UserSchema() *Schema {
	return &Schema{
		ID:          UserURN,
		Name:        "User",
		Description: "User Account",
		Attributes: []*Attribute{
			Str("userName", Required, Unique(UniqueServer),
				Desc("Unique identifier for the User, typically used by the user to directly authenticate to the service provider.")),
			Cplx("name", []*Attribute{
				Str("formatted"), Str("familyName"), Str("givenName"),
				Str("middleName"), Str("honorificPrefix"), Str("honorificSuffix"),
			}, Desc("The components of the user's real name.")),
			Str("displayName", Desc("The name of the User, suitable for display to end-users.")),
			Str("nickName", Desc("The casual way to address the user in real life.")),
			Ref("profileUrl", []string{"external"}, Desc("A fully qualified URL pointing to a page representing the User's online profile.")),
			Str("title", Desc("The user's title, such as \"Vice President\".")),
			Str("userType", Desc("Used to identify the relationship between the organization and the user.")),
			Str("preferredLanguage", Desc("Indicates the User's preferred written or spoken language.")),
			Str("locale", Desc("Used to indicate the User's default location for purposes of localizing items.")),
			Str("timezone", Desc("The User's time zone in the 'Olson' time zone database format.")),
			Bool("active", Desc("A Boolean value indicating the User's administrative status.")),
			Str("password", Mut(WriteOnly), Ret(ReturnedNever), Desc("The User's cleartext password.")),
			Cplx("emails", multiValue(Str("value", Desc("Email addresses for the user.")), "work", "home", "other"), Multi,
				Desc("Email addresses for the user.")),
			Cplx("phoneNumbers", multiValue(Str("value"), "work", "home", "mobile", "fax", "pager", "other"), Multi,
				Desc("Phone numbers for the User.")),
			Cplx("ims", multiValue(Str("value"), "aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"), Multi,
				Desc("Instant messaging addresses for the User.")),
			Cplx("photos", multiValue(Ref("value", []string{"external"}), "photo", "thumbnail"), Multi,
				Desc("URLs of photos of the User.")),
			Cplx("addresses", []*Attribute{
				Str("formatted"), Str("streetAddress"), Str("locality"), Str("region"),
				Str("postalCode"), Str("country"),
				Str("type", Canonical("work", "home", "other")),
				Bool("primary"),
			}, Multi, Desc("A physical mailing address for this User.")),
			Cplx("groups", []*Attribute{
				Str("value", Mut(ReadOnly)),
				Ref("$ref", []string{"User", "Group"}, Mut(ReadOnly)),
				Str("display", Mut(ReadOnly)),
				Str("type", Canonical("direct", "indirect"), Mut(ReadOnly)),
			}, Multi, Mut(ReadOnly), Desc("A list of groups to which the user belongs.")),
			Cplx("entitlements", multiValue(Str("value")), Multi, Desc("A list of entitlements for the User.")),
			Cplx("roles", multiValue(Str("value")), Multi, Desc("A list of roles for the User.")),
			Cplx("x509Certificates", multiValue(Bin("value")), Multi, Desc("A list of certificates issued to the User.")),
		},
	}
}

// GroupSchema returns the core Group schema of RFC 7643 §4.2 and §8.7.1.
func GroupSchema() *Schema {
	return &Schema{
		ID:          GroupURN,
		Name:        "Group",
		Description: "Group",
		Attributes: []*Attribute{
			Str("displayName", Required, Desc("A human-readable name for the Group.")),
			Cplx("members", []*Attribute{
				Str("value", Mut(Immutable), Desc("Identifier of the member of this Group.")),
				Ref("$ref", []string{"User", "Group"}, Mut(Immutable), Desc("The URI corresponding to a SCIM resource that is a member of this Group.")),
				Str("display", Mut(ReadOnly), Desc("A human-readable name for the member.")),
				Str("type", Canonical("User", "Group"), Mut(Immutable), Desc("A label indicating the type of resource.")),
			}, Multi, Desc("A list of members of the Group.")),
		},
	}
}

// EnterpriseUserSchema returns the Enterprise User extension of RFC 7643 §4.3.
func EnterpriseUserSchema() *Schema {
	return &Schema{
		ID:          EnterpriseUserURN,
		Name:        "EnterpriseUser",
		Description: "Enterprise User",
		Attributes: []*Attribute{
			Str("employeeNumber", Desc("Numeric or alphanumeric identifier assigned to a person.")),
			Str("costCenter", Desc("Identifies the name of a cost center.")),
			Str("organization", Desc("Identifies the name of an organization.")),
			Str("division", Desc("Identifies the name of a division.")),
			Str("department", Desc("Identifies the name of a department.")),
			Cplx("manager", []*Attribute{
				Str("value", Desc("The id of the SCIM resource representing the User's manager.")),
				Ref("$ref", []string{"User"}, Desc("The URI of the SCIM resource representing the User's manager.")),
				Str("displayName", Mut(ReadOnly), Desc("The displayName of the User's manager.")),
			}, Desc("The User's manager.")),
		},
	}
}
