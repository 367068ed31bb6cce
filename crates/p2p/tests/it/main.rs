mod compact;
mod sim;
