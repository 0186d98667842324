//! What a caller may have and what is minted: the trust policy, the minted claim set and
//! lifetime.

pub mod mint;
pub mod trust;
