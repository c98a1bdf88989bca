//! How the engine declares the requests and responses of the AWS APIs
//! (`kms/api.rs`, `cloudhsm/api.rs`): structs with the models' PascalCase
//! member names, whose optional members are left out of the output when
//! absent, as AWS leaves them out.

/// Declares shapes: `Name { /// doc  member: Type, /// doc  member?: Type }`.
/// `member?: T` is an optional member, `Option<T>` omitted from the output
/// when `None`. Every shape derives the same traits and is renamed to
/// PascalCase.
macro_rules! shapes {
    ($( $(#[$doc:meta])* $name:ident { $($members:tt)* } )*) => {
        $( $crate::engine::shapes::shapes!(@members [$(#[$doc])* $name] [] $($members)*); )*
    };
    // An optional member.
    (@members $shape:tt [$($done:tt)*]
        $(#[$attr:meta])* $member:ident ?: $ty:ty $(, $($rest:tt)*)?) => {
        $crate::engine::shapes::shapes!(@members $shape [
            $($done)*
            $(#[$attr])*
            #[serde(skip_serializing_if = "Option::is_none")]
            pub $member: Option<$ty>,
        ] $($($rest)*)?);
    };
    // A member always present.
    (@members $shape:tt [$($done:tt)*]
        $(#[$attr:meta])* $member:ident : $ty:ty $(, $($rest:tt)*)?) => {
        $crate::engine::shapes::shapes!(@members $shape [
            $($done)*
            $(#[$attr])*
            pub $member: $ty,
        ] $($($rest)*)?);
    };
    (@members [$(#[$doc:meta])* $name:ident] [$($done:tt)*]) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, ::serde::Deserialize, PartialEq, ::serde::Serialize)]
        #[serde(rename_all = "PascalCase")]
        pub struct $name {
            $($done)*
        }
    };
}

pub(crate) use shapes;
