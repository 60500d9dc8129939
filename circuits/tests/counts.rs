use zkmed_circuits::CircuitId;

#[test]
fn print_counts() {
    for c in CircuitId::ALL {
        let t = std::time::Instant::now();
        println!("{c}: {} constraints ({:?})", c.num_constraints(), t.elapsed());
    }
}
