//! Fault rows: faults in effect at once (`--nemesis-overlap`) each get a row of their own in
//! the timeline's fault band, so their bars and labels never overlap.

use crate::extract::Fault;

/// The row of each fault of `faults` (sorted by start, as [`crate::extract::Extract`] has
/// them): the lowest row free at its start, a row being free once the fault on it has ended.
/// Faults that never overlap all get row 0, and there are as many rows as the most faults in
/// effect at once.
pub(crate) fn fault_rows(faults: &[Fault]) -> Vec<usize> {
    // The end of the fault last put on each row.
    let mut busy_until: Vec<u64> = Vec::new();
    faults
        .iter()
        .map(|fault| {
            let row = busy_until
                .iter()
                .position(|end| *end <= fault.start)
                .unwrap_or(busy_until.len());
            if row == busy_until.len() {
                busy_until.push(fault.end);
            } else {
                busy_until[row] = fault.end;
            }
            row
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(name: &str, start: u64, end: u64) -> Fault {
        Fault {
            name: name.to_owned(),
            detail: String::new(),
            start,
            end,
        }
    }

    #[test]
    fn overlapping_faults_get_rows_of_their_own_and_a_later_one_reuses_row_0() {
        let faults = [
            fault("kill", 10, 30),
            fault("pause", 20, 40),
            fault("partition", 50, 60),
        ];
        assert_eq!(fault_rows(&faults), vec![0, 1, 0]);
    }

    #[test]
    fn a_fault_takes_the_lowest_free_row() {
        let faults = [
            fault("kill", 0, 100),
            fault("pause", 10, 20),
            fault("clog", 15, 50),
            fault("latency", 30, 40),
            fault("partition", 60, 70),
        ];
        // At 30 row 1 (pause, ended at 20) is free again, row 2 (clog) is not.
        assert_eq!(fault_rows(&faults), vec![0, 1, 2, 1, 1]);
    }

    #[test]
    fn a_fault_starting_as_another_ends_shares_its_row() {
        assert_eq!(
            fault_rows(&[fault("kill", 0, 10), fault("kill", 10, 20)]),
            vec![0, 0]
        );
        assert_eq!(fault_rows(&[]), Vec::<usize>::new());
    }
}
