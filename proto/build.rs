//! Compiles every `.proto` under `proto/seqpool/` with protox (pure Rust, no system protoc),
//! then generates prost types, serde impls (proto3 JSON via pbjson) and tonic services.
use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|e| e == "proto") {
            out.push(p);
        }
    }
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    collect(&root.join("seqpool"), &mut files);
    println!("cargo:rerun-if-changed={}", root.join("seqpool").display());
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }

    let fds = protox::compile(&files, [&root]).expect("protobuf files must compile");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let descriptor_path = out.join("seqpool_descriptor.bin");
    std::fs::write(&descriptor_path, prost::Message::encode_to_vec(&fds))
        .expect("write descriptor");

    let mut config = prost_build::Config::new();
    config
        .compile_well_known_types()
        .enable_type_names()
        .type_name_domain(["."], "")
        .extern_path(".google.protobuf", "::pbjson_types");
    // The gRPC clients and servers only with feature `grpc`: the state machine uses the messages
    // alone and stays free of tonic.
    let grpc = std::env::var_os("CARGO_FEATURE_GRPC").is_some();
    tonic_build::configure()
        .build_client(grpc)
        .build_server(grpc)
        .build_transport(false)
        .compile_fds_with_config(config, fds)
        .expect("generate prost and tonic code");

    let descriptors = std::fs::read(&descriptor_path).expect("read descriptor");
    pbjson_build::Builder::new()
        .register_descriptors(&descriptors)
        .expect("register descriptors")
        .build(&[".seqpool"])
        .expect("generate serde impls");
}
