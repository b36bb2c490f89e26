//! Why a plugin's interface layout is not this host's, in one line: the first
//! type and field where `abi_stable`'s layout check found them to differ.
//!
//! `abi_stable` reports a mismatch as a list of errors, each with the stack of
//! fields (and function signatures) that leads from the root module to the type
//! it is about, printed as some two hundred lines of layouts. The first error
//! that names a difference of its own (the others only say that a type holding
//! it differs too) is the one worth a line.

use revoker_plugin_api::abi_stable::abi_stability::abi_checking::{
    AbiInstability, AbiInstabilityError, ExpectedFound, check_layout_compatibility,
};
use revoker_plugin_api::abi_stable::type_layout::{TLField, TLFieldOrFunction, TypeLayout};

/// Where `found` (a plugin's root module) first differs from `expected` (the
/// root module this host reads), e.g. ``type Outcome, field `kind`: expected
/// OutcomeKind with 11 variants, found 12``; `None` if they do not differ.
pub(crate) fn first_difference(
    expected: &'static TypeLayout,
    found: &'static TypeLayout,
) -> Option<String> {
    let errors = check_layout_compatibility(expected, found).err()?;
    let first = errors
        .errors
        .iter()
        .filter(|error| !error.errs.is_empty())
        .min_by_key(|error| error.index)?;
    Some(one_line(&describe(expected, first)))
}

/// One step from the root module towards the type an error is about.
#[derive(Clone, Copy)]
enum Step {
    /// A field (or a function's parameter, or `__returns`), and its type.
    Field(&'static str, &'static TypeLayout),
    /// A function pointer's signature, by the field that holds it.
    Function(&'static str),
}

fn describe(root: &'static TypeLayout, error: &AbiInstabilityError) -> String {
    let steps: Vec<Step> = std::iter::once(Step::Field("", root))
        .chain(
            error
                .stack_trace
                .iter()
                .map(|ExpectedFound { expected, .. }| match expected {
                    TLFieldOrFunction::Field(field) => Step::Field(name(field), field.layout()),
                    TLFieldOrFunction::Function(function) => Step::Function(function.name.as_str()),
                }),
        )
        .collect();
    // The type the error is about: the last field's.
    let subject = steps
        .iter()
        .rev()
        .find_map(|step| match step {
            Step::Field(_, layout) => Some(*layout),
            Step::Function(_) => None,
        })
        .expect("the root is a field step");
    let in_function = matches!(steps.last(), Some(Step::Function(_)));
    let err = &error.errs[0];
    let s = subject.name();
    let what = match err {
        // About the subject's own fields: name the field.
        AbiInstability::UnexpectedField(ef) if in_function => {
            return format!(
                "{}: expected parameter `{}`, found `{}`",
                place(&steps),
                name(&ef.expected),
                name(&ef.found)
            );
        }
        AbiInstability::UnexpectedField(ef) => {
            return format!(
                "type {s}, field `{}`: found field `{}` in its place",
                name(&ef.expected),
                name(&ef.found)
            );
        }
        AbiInstability::FieldCountMismatch(ef) if in_function => format!(
            "expected {} parameters, found {}",
            ef.expected.saturating_sub(1),
            ef.found.saturating_sub(1)
        ),
        AbiInstability::FieldCountMismatch(ef) => {
            format!(
                "expected {s} with {} fields, found {}",
                ef.expected, ef.found
            )
        }
        AbiInstability::Name(ef) => format!("expected {}, found {}", ef.expected, ef.found),
        AbiInstability::Package(ef) => format!(
            "expected {s} from package {}, found one from {}",
            ef.expected, ef.found
        ),
        AbiInstability::PackageVersion(ef) => format!(
            "expected {s} from version {} of {}, found version {}",
            ef.expected,
            subject.package(),
            ef.found
        ),
        AbiInstability::Size(ef) => {
            format!("expected {s} of {} bytes, found {}", ef.expected, ef.found)
        }
        AbiInstability::Alignment(ef) => format!(
            "expected {s} aligned to {} bytes, found {}",
            ef.expected, ef.found
        ),
        AbiInstability::TooManyVariants(ef) => {
            format!(
                "expected {s} with {} variants, found {}",
                ef.expected, ef.found
            )
        }
        AbiInstability::UnexpectedVariant(ef) => format!(
            "expected variant `{}` of {s}, found `{}`",
            ef.expected, ef.found
        ),
        AbiInstability::MismatchedPrimitive(ef) => {
            format!("expected {:?}, found {:?}", ef.expected, ef.found)
        }
        AbiInstability::TLDataDiscriminant(ef) => format!(
            "expected {s} to be a {:?}, found a {:?}",
            ef.expected, ef.found
        ),
        AbiInstability::MismatchedPrefixSize(ef) => format!(
            "expected {s} with {} prefix fields, found {}",
            ef.expected, ef.found
        ),
        AbiInstability::EnumDiscriminant(ef) => format!(
            "the discriminants of {s} differ: expected {:?}, found {:?}",
            ef.expected, ef.found
        ),
        AbiInstability::ReprAttr(ef) => format!(
            "expected {s} with #[repr] {:?}, found {:?}",
            ef.expected, ef.found
        ),
        AbiInstability::NonZeroness(_) => format!("{s} differs in whether it may be zero"),
        AbiInstability::FnQualifierMismatch(_) => "its qualifiers (`unsafe`) differ".to_owned(),
        AbiInstability::FnLifetimeMismatch(_) | AbiInstability::FieldLifetimeMismatch(_) => {
            "the lifetimes it references differ".to_owned()
        }
        AbiInstability::GenericParamCount(ef) => format!(
            "expected {}, found {} (generic parameters)",
            ef.expected, ef.found
        ),
        other => format!("the layout of {s} differs ({})", label(other)),
    };
    format!("{}: {what}", place(&steps))
}

/// Where the last step (the first being the root) is, as a reader of the
/// plugin API's source would say it: ``type Manifest, field `auth` ``,
/// ``type ProviderModule, function `plan`, parameter `params` ``, or the type
/// itself when it is the root, a wrapper's only field (`ProviderModuleRef`'s
/// `0`) or the payload of one of `abi_stable`'s own types (`RResult`, …).
fn place(steps: &[Step]) -> String {
    let n = steps.len();
    let named = |layout: &TypeLayout| layout.package().as_str() != "abi_stable";
    // The nearest named type before step `i`.
    let container = |i: usize| -> Option<&'static str> {
        steps[..i].iter().rev().find_map(|step| match step {
            Step::Field(_, layout) if named(layout) => Some(layout.name()),
            Step::Field(..) | Step::Function(_) => None,
        })
    };
    let function = |i: usize, f: &str| match container(i) {
        Some(owner) => format!("type {owner}, function `{f}`"),
        None => format!("function `{f}`"),
    };
    match steps {
        [] => "the root module".to_owned(),
        [.., Step::Function(f)] => function(n.saturating_sub(2), f),
        [.., Step::Function(f), Step::Field("__returns", _)] => {
            format!("{}, its return type", function(n - 3, f))
        }
        [.., Step::Function(f), Step::Field(param, _)] => {
            format!("{}, parameter `{param}`", function(n - 3, f))
        }
        [.., Step::Field(_, owner), Step::Field(field, _)]
            if named(owner) && !field.bytes().all(|b| b.is_ascii_digit()) =>
        {
            format!("type {}, field `{field}`", owner.name())
        }
        [.., Step::Field(_, layout)] => format!("type {}", layout.name()),
    }
}

/// A few words for the kinds of difference [`describe`] does not spell out.
fn label(err: &AbiInstability) -> &'static str {
    match err {
        AbiInstability::ReentrantLayoutCheckingCall => "reentrant layout check",
        AbiInstability::CyclicTypeChecking { .. } => "cyclic type check",
        AbiInstability::PackageVersionParseError(_) => "unreadable package version",
        AbiInstability::MismatchedPrefixConditionality(_) => "conditional prefix fields",
        AbiInstability::MismatchedExhaustiveness(_) => "exhaustiveness",
        AbiInstability::MismatchedConstParam(_) => "const parameters",
        AbiInstability::IncompatibleWithNonExhaustive(_) => "non-exhaustive enum storage",
        AbiInstability::NoneExtraChecks | AbiInstability::ExtraCheckError(_) => "extra checks",
        AbiInstability::TagError { .. } => "tags",
        _ => "layout",
    }
}

/// A field's or parameter's name (a parameter's may come with the comma
/// after it).
fn name(field: &TLField) -> &'static str {
    field.name().trim_end_matches([',', ' '])
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use abi_stable::StableAbi;
    use abi_stable::std_types::{RResult, RString};

    use super::*;

    /// The interface as this host has it.
    mod ours {
        use super::*;

        #[repr(C)]
        #[derive(StableAbi)]
        pub struct Manifest {
            pub provider: RString,
            pub auth: AuthScheme,
        }

        #[repr(C)]
        #[derive(StableAbi)]
        pub struct AuthScheme {
            pub header: RString,
        }

        #[repr(u8)]
        #[derive(StableAbi)]
        #[allow(dead_code)]
        pub enum Kind {
            Revoked,
            NotFound,
        }

        #[repr(C)]
        #[derive(StableAbi)]
        pub struct Module {
            pub manifest: extern "C" fn() -> RResult<Manifest, RString>,
            pub kind: extern "C" fn(id: u32) -> Kind,
        }

        #[repr(C)]
        #[derive(StableAbi)]
        pub struct KindOnly {
            pub kind: extern "C" fn(id: u32) -> Kind,
        }
    }

    /// The same names, each differing in one way.
    mod theirs {
        use super::*;

        #[repr(C)]
        #[derive(StableAbi)]
        pub struct Manifest {
            pub provider: RString,
            pub auth: AuthHeader,
        }

        #[repr(C)]
        #[derive(StableAbi)]
        pub struct AuthHeader {
            pub header: RString,
        }

        #[repr(u8)]
        #[derive(StableAbi)]
        #[allow(dead_code)]
        pub enum Kind {
            Revoked,
            NotFound,
            Other,
        }

        #[repr(C)]
        #[derive(StableAbi)]
        pub struct Module {
            pub manifest: extern "C" fn() -> RResult<Manifest, RString>,
            pub kind: extern "C" fn(id: u64) -> Kind,
        }

        #[repr(C)]
        #[derive(StableAbi)]
        pub struct KindOnly {
            pub kind: extern "C" fn(id: u64) -> Kind,
        }

        #[repr(C)]
        #[derive(StableAbi)]
        pub struct Renamed {
            pub provider: RString,
            pub scheme: ours::AuthScheme,
        }
    }

    fn difference<A: StableAbi, B: StableAbi>() -> String {
        first_difference(A::LAYOUT, B::LAYOUT).expect("the layouts differ")
    }

    #[test]
    fn a_field_of_another_type_is_named_with_its_type() {
        assert_eq!(
            difference::<ours::Manifest, theirs::Manifest>(),
            "type Manifest, field `auth`: expected AuthScheme, found AuthHeader"
        );
    }

    #[test]
    fn the_first_difference_is_named_through_functions_and_abi_stable_types() {
        assert_eq!(
            difference::<ours::Module, theirs::Module>(),
            "type Manifest, field `auth`: expected AuthScheme, found AuthHeader"
        );
        assert_eq!(
            difference::<ours::KindOnly, theirs::KindOnly>(),
            "type KindOnly, function `kind`, parameter `id`: expected u32, found u64"
        );
        assert_eq!(
            difference::<ours::Kind, theirs::Kind>(),
            "type Kind: expected Kind with 2 variants, found 3"
        );
        assert_eq!(
            difference::<ours::Manifest, theirs::Renamed>(),
            "type Manifest: expected Manifest, found Renamed"
        );
    }

    #[test]
    fn equal_layouts_have_no_difference() {
        assert_eq!(
            first_difference(
                <ours::Manifest as StableAbi>::LAYOUT,
                <ours::Manifest as StableAbi>::LAYOUT
            ),
            None
        );
    }
}
