//! Says whether a host or address a client connects to is this machine: a Unix socket folder,
//! `localhost`, a loopback address, one of this machine's own addresses, or its host name.

use std::net::IpAddr;

/// Whether connecting to `host` (a name, an IP address, or a socket folder) stays on this machine.
///
/// Names other than `localhost` and this machine's own name are not looked up: a name that
/// resolves here today may resolve elsewhere tomorrow, so it counts as another machine. That
/// includes `db.localhost`: only some resolvers keep `*.localhost` on the loopback, and libpq asks
/// whatever resolver the machine has.
pub fn is_this_machine(host: &str) -> bool {
    let host = host.trim();
    // An empty entry means libpq's default, the local Unix socket; `@` is Linux's abstract socket.
    if host.is_empty() || host.starts_with('/') || host.starts_with('@') {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    if bare == "localhost" {
        return true;
    }
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback() || ip.is_unspecified() || is_own_address(ip),
        Err(_) => own_host_name().is_some_and(|name| name.eq_ignore_ascii_case(&bare)),
    }
}

/// Whether `ip` is an address of one of this machine's network interfaces. Binding to it proves
/// nothing: with `ip_nonlocal_bind` or `IP_FREEBIND` any address can be bound.
fn is_own_address(ip: IpAddr) -> bool {
    interface_addresses().contains(&ip)
}

/// Lists the IP addresses of this machine's network interfaces.
fn interface_addresses() -> Vec<IpAddr> {
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list that freeifaddrs releases below.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return Vec::new();
    }
    let mut addresses = Vec::new();
    let mut at = list;
    while !at.is_null() {
        // SAFETY: `at` is a node of the list getifaddrs returned, not yet freed.
        let entry = unsafe { &*at };
        if !entry.ifa_addr.is_null() {
            // SAFETY: the address's family says which sockaddr type it is.
            match i32::from(unsafe { (*entry.ifa_addr).sa_family }) {
                libc::AF_INET => {
                    let sin = unsafe { &*(entry.ifa_addr as *const libc::sockaddr_in) };
                    addresses.push(IpAddr::from(u32::from_be(sin.sin_addr.s_addr).to_be_bytes()));
                }
                libc::AF_INET6 => {
                    let sin6 = unsafe { &*(entry.ifa_addr as *const libc::sockaddr_in6) };
                    addresses.push(IpAddr::from(sin6.sin6_addr.s6_addr));
                }
                _ => {}
            }
        }
        at = entry.ifa_next;
    }
    // SAFETY: `list` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(list) };
    addresses
}

fn own_host_name() -> Option<String> {
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let status = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    if status != 0 {
        return None;
    }
    let end = buffer.iter().position(|b| *b == 0).unwrap_or(buffer.len());
    String::from_utf8(buffer[..end].to_vec()).ok().filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_this_machine_from_the_others() {
        for local in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.0.0.2",
            "::1",
            "[::1]",
            "0.0.0.0",
            "/var/run/postgresql",
            "@abstract",
            "",
        ] {
            assert!(is_this_machine(local), "{local}");
        }
        // 192.0.2.1 can be bound to where ip_nonlocal_bind is on; it is still no address of this machine.
        for remote in [
            "db.example.com",
            "203.0.113.7",
            "198.51.100.7",
            "192.0.2.1",
            "2001:db8::1",
            "localhost.example.com",
            "db.localhost",
        ] {
            assert!(!is_this_machine(remote), "{remote}");
        }
        let name = own_host_name().expect("this machine has a name");
        assert!(is_this_machine(&name), "{name}");
    }

    #[test]
    fn every_address_of_this_machine_is_local() {
        let own = interface_addresses();
        assert!(own.iter().any(|ip| ip.is_loopback()), "{own:?}");
        for ip in own.iter().filter(|ip| !matches!(ip, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80)) {
            assert!(is_this_machine(&ip.to_string()), "{ip} is an address of this machine");
        }
    }
}
