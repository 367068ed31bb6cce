mod admission;
mod announce;
mod churn;
mod compact;
mod net;
mod sim;
mod slots;
