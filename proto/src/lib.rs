//! Generated protobuf types of seqpool (`seqpool.<module>.v1`), their proto3-JSON serde impls and
//! tonic gRPC services, plus the encoded descriptor set for gRPC server reflection.
#![allow(clippy::all, missing_docs, unused_qualifications)]

/// Encoded `FileDescriptorSet` of every seqpool proto file (for gRPC reflection).
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/seqpool_descriptor.bin"));

macro_rules! generated {
    ($file:literal) => {
        include!(concat!(env!("OUT_DIR"), "/", $file, ".rs"));
        include!(concat!(env!("OUT_DIR"), "/", $file, ".serde.rs"));
    };
}

pub mod seqpool {
    pub mod admin {
        pub mod v1 {
            generated!("seqpool.admin.v1");
        }
    }
    pub mod app {
        pub mod v1 {
            generated!("seqpool.app.v1");
        }
    }
    pub mod auth {
        pub mod v1 {
            generated!("seqpool.auth.v1");
        }
    }
    pub mod bridge {
        pub mod v1 {
            generated!("seqpool.bridge.v1");
        }
    }
    pub mod epochs {
        pub mod v1 {
            generated!("seqpool.epochs.v1");
        }
    }
    pub mod gov {
        pub mod v1 {
            generated!("seqpool.gov.v1");
        }
    }
    pub mod mpc {
        pub mod v1 {
            generated!("seqpool.mpc.v1");
        }
    }
    pub mod node {
        pub mod v1 {
            generated!("seqpool.node.v1");
        }
    }
    pub mod producer {
        pub mod v1 {
            generated!("seqpool.producer.v1");
        }
    }
    pub mod staking {
        pub mod v1 {
            generated!("seqpool.staking.v1");
        }
    }
    pub mod tss {
        pub mod v1 {
            generated!("seqpool.tss.v1");
        }
    }
}

pub use seqpool::*;

/// Type URL of a message (`/` + its full protobuf name).
pub fn type_url<M: prost::Name>() -> String {
    format!("/{}", M::full_name())
}
