//! Orders tables by their foreign keys for the data migrations: each after the tables it
//! references, and tables whose keys form a cycle together, to be filled in one statement
//! (Postgres checks a foreign key at the end of the statement, so rows that reference each
//! other across such tables can all go in at once).

use std::collections::HashMap;

use postgres::Client;

/// Returns the user tables as `(oid, qualified name)` in groups: every group after the groups
/// it references, a group holding more than one table when their keys form a cycle.
pub fn table_groups(client: &mut Client) -> anyhow::Result<Vec<Vec<(u32, String)>>> {
    let names = super::provenance::user_tables(client)?;
    let mut tables = Vec::new();
    for row in client.query("SELECT n, to_regclass(n)::oid FROM unnest($1::text[]) n", &[&names])? {
        tables.push((row.get::<_, u32>(1), row.get::<_, String>(0)));
    }
    let refs = client.query(
        "SELECT DISTINCT conrelid, confrelid FROM pg_catalog.pg_constraint WHERE contype = 'f' AND conrelid <> confrelid",
        &[],
    )?;
    let edges: Vec<(u32, u32)> = refs.iter().map(|r| (r.get(0), r.get(1))).collect();
    let oids: Vec<u32> = tables.iter().map(|(oid, _)| *oid).collect();
    let name_of: HashMap<u32, String> = tables.into_iter().collect();
    Ok(groups(&oids, &edges)
        .into_iter()
        .map(|group| group.into_iter().map(|oid| (oid, name_of[&oid].clone())).collect())
        .collect())
}

/// Groups `nodes` into strongly connected components of the graph `edges` (`(from, to)`: `from`
/// needs `to`), each component after those it needs, nodes kept in their given order inside
/// a component and between components that do not need each other.
pub fn groups(nodes: &[u32], edges: &[(u32, u32)]) -> Vec<Vec<u32>> {
    let index: HashMap<u32, usize> = nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let mut needs: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (from, to) in edges {
        if let (Some(&f), Some(&t)) = (index.get(from), index.get(to)) {
            needs[f].push(t);
        }
    }
    // Tarjan's algorithm, without recursion: it yields a component after every one it needs.
    let mut order = vec![usize::MAX; nodes.len()];
    let mut low = vec![0; nodes.len()];
    let mut on_stack = vec![false; nodes.len()];
    let mut stack = Vec::new();
    let mut components: Vec<Vec<usize>> = Vec::new();
    let mut counter = 0;
    for root in 0..nodes.len() {
        if order[root] != usize::MAX {
            continue;
        }
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        while let Some(&(v, next)) = work.last() {
            if next == 0 && order[v] == usize::MAX {
                order[v] = counter;
                low[v] = counter;
                counter += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if let Some(&w) = needs[v].get(next) {
                if let Some(top) = work.last_mut() {
                    top.1 += 1;
                }
                if order[w] == usize::MAX {
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(order[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == order[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                component.sort_unstable();
                components.push(component);
            }
        }
    }
    components.into_iter().map(|c| c.into_iter().map(|i| nodes[i]).collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn puts_each_group_after_what_it_needs_and_cycles_together() {
        // 1 needs 2, 2 needs 3, 3 needs 2 (a cycle), 4 needs 1, 5 needs nothing.
        let groups = groups(&[1, 2, 3, 4, 5], &[(1, 2), (2, 3), (3, 2), (4, 1)]);
        assert_eq!(groups, vec![vec![2, 3], vec![1], vec![4], vec![5]]);
        assert_eq!(super::groups(&[7, 8], &[]), vec![vec![7], vec![8]]);
    }
}
